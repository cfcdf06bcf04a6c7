//! `time.sleep(x)` → `await asyncio.sleep(x)`: the same pause, without holding the
//! event loop.

use super::{CallEdit, CallFacts, Declined, Description, Mapping};

/// The `sleep` mapping.
pub struct Sleep;

impl Mapping for Sleep {
    fn name(&self) -> &'static str {
        "sleep"
    }

    fn kind(&self) -> &'static str {
        "sleep"
    }

    fn description(&self) -> Description {
        Description::same("await asyncio.sleep")
    }

    /// A sleep takes its duration and nothing else the async one lacks.
    fn check(&self, _facts: &CallFacts<'_>) -> Result<(), Declined> {
        Ok(())
    }

    fn edit(&self, edit: &mut CallEdit<'_, '_, '_, '_>) -> Result<(), Declined> {
        edit.need_import("asyncio");
        edit.replace_callee("asyncio.sleep");
        edit.await_call();
        Ok(())
    }

    fn may_leave_unused(&self) -> &'static [&'static str] {
        &["time"]
    }
}

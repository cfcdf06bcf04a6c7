//! pytest-asyncio's configuration for converted tests: a fixture loop scope set
//! where pytest is configured, so that pytest-asyncio neither warns about it nor
//! picks a scope the project did not choose.

use super::{Files, text};

/// The option pytest-asyncio asks to be set explicitly.
const LOOP_SCOPE: &str = "asyncio_default_fixture_loop_scope";

/// Where pytest reads its configuration, in the order it looks: the file, its
/// section, whether it is TOML.
const CONFIGS: &[(&str, &str, bool)] = &[
    ("pytest.ini", "pytest", false),
    (".pytest.ini", "pytest", false),
    ("pyproject.toml", "tool.pytest.ini_options", true),
    ("tox.ini", "pytest", false),
    ("setup.cfg", "tool:pytest", false),
];

/// Set `asyncio_default_fixture_loop_scope = "function"` in the section pytest
/// reads, unless it is set; nothing when pytest is configured nowhere (a section
/// is not created for this alone).
pub(super) fn set_loop_scope(files: &mut Files<'_>) {
    for (file, section, toml) in CONFIGS {
        let Some(content) = files.text(file) else { continue };
        let Some(found) = text::find_section(&content, section) else { continue };
        if text::key_value(&content, found, LOOP_SCOPE).is_some() {
            return;
        }
        let line = if *toml { format!("{LOOP_SCOPE} = \"function\"") } else { format!("{LOOP_SCOPE} = function") };
        let edited = text::append_to_section(&content, found, &line);
        if !*toml || edited.parse::<toml::Table>().is_ok() {
            files.set(file, edited);
        }
        return;
    }
}

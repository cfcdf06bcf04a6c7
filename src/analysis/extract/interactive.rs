//! Commands the user runs interactively: the editor or pager a program starts
//! for the user (`$EDITOR`, `$VISUAL`, `$PAGER`) waits for the person at the
//! terminal, and a timeout there would cut them off mid-edit.

use tree_sitter::Node;

use super::{Walker, fields};

/// Environment variables that name a program the user works in interactively
/// (git's own `GIT_EDITOR` and `GIT_PAGER` included).
const INTERACTIVE_VARIABLES: &[&str] = &["EDITOR", "VISUAL", "PAGER", "GIT_EDITOR", "GIT_PAGER"];

/// Whether `source` mentions any of [`INTERACTIVE_VARIABLES`] (`EDITOR` also
/// finds `GIT_EDITOR`): one scan of the text spares every file that does not the
/// walk of each call's arguments.
pub(super) fn mentions_interactive_variable(source: &str) -> bool {
    ["EDITOR", "VISUAL", "PAGER"].iter().any(|v| source.contains(v))
}

impl<'s> Walker<'s> {
    /// Whether `node` computes a command from an interactive environment
    /// variable: it looks one up (`os.environ.get("EDITOR")`,
    /// `os.environ["VISUAL"]`, `os.getenv("PAGER")`) or reads a local of `scope`
    /// that was assigned from such a command (`shlex.split(editor) + [path]`).
    pub(super) fn names_interactive_command(&self, node: Node, scope: u32) -> bool {
        if !self.names_interactive_variable {
            return false;
        }
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if n.kind_id() == self.k.identifier {
                let name = self.text(n);
                if self.interactive.iter().any(|(s, held)| *s == scope && *held == name) {
                    return true;
                }
            } else if n.kind_id() == self.k.string && self.is_interactive_lookup(n) {
                return true;
            }
            let mut c = n.walk();
            stack.extend(n.named_children(&mut c));
        }
        false
    }

    /// Record that `name` in `scope` holds a command computed from an
    /// interactive environment variable when `value` computes one.
    pub(super) fn note_interactive_binding(&mut self, scope: u32, name: &'s str, value: Option<Node>) {
        let interactive = value.is_some_and(|v| self.names_interactive_command(v, scope));
        let known = self.interactive.iter().any(|(s, held)| *s == scope && *held == name);
        // `editor = os.environ.get("EDITOR")` then `if not editor: editor = "vi"`:
        // a fallback keeps the name the user's command, so only a first
        // assignment decides.
        if interactive && !known {
            self.interactive.push((scope, name));
        }
    }

    /// Whether the string `literal` names an interactive variable as the key of
    /// an environment lookup: the first argument of `environ.get`/`getenv`, or
    /// the subscript of `environ`.
    fn is_interactive_lookup(&self, literal: Node) -> bool {
        let text = self.text(literal).trim_matches(|c| c == '"' || c == '\'');
        if !INTERACTIVE_VARIABLES.contains(&text) {
            return false;
        }
        let Some(parent) = literal.parent() else { return false };
        let looked_up = match parent.kind() {
            "argument_list" => {
                parent.parent().and_then(|call| call.child_by_field_id(fields().function.get())).map(|f| self.text(f))
            }
            "subscript" => parent.child_by_field_id(fields().value.get()).map(|v| self.text(v)),
            _ => None,
        };
        looked_up.is_some_and(|f| f.ends_with("environ.get") || f.ends_with("getenv") || f.ends_with("environ"))
    }
}

//! Exception and type names a native replacement renames, in annotations and
//! `except` clauses (`requests.HTTPError` → `httpx.HTTPStatusError`).

use super::*;

impl<'a, 'c, 't> Rewriter<'a, 'c, 't> {
    /// The renames that native replacements bring (`requests.HTTPError` → `httpx.HTTPStatusError`).
    pub(super) fn collect_renames(&mut self) {
        let catalog = self.job.model.index.catalog;
        let mut libraries = BTreeSet::new();
        for plan in self.job.plans {
            for call in plan.calls.iter().filter(|c| c.module == self.job.module) {
                let CallRewrite::Native(mapping) = call.rewrite else { continue };
                if let CallTarget::Blocking(api) = self.target(call.call) {
                    for (from, to) in mapping.renames(catalog.entry(api.id)) {
                        self.renames.map.insert(from.to_string(), to.to_string());
                    }
                    libraries.insert(api.name.split('.').next().unwrap_or("").to_string());
                }
            }
            for client in plan.clients.iter().filter(|c| c.module == self.job.module) {
                self.renames.map.insert(client.from.clone(), client.to.clone());
                libraries.insert(client.from.split('.').next().unwrap_or("").to_string());
            }
        }
        // File-wide only when nothing in the file keeps using the library synchronously.
        let graph = &self.job.model.graph;
        let still_sync = self.module().summary.calls.iter().enumerate().any(|(ci, _)| {
            let CallTarget::Blocking(api) = self.target(ci as u32) else { return false };
            let lib = api.name.split('.').next().unwrap_or("");
            libraries.contains(lib)
                && self.plan_call(ci as u32).is_none_or(|c| c.rewrite == CallRewrite::Thread)
                && graph.caller(self.job.module, ci as u32).is_some()
        });
        self.renames.file_wide = !still_sync;
    }

    pub(super) fn rename_types(&mut self) {
        if self.renames.map.is_empty() {
            return;
        }
        let regions: Vec<(usize, usize)> = if self.renames.file_wide {
            vec![(0, self.src.len())]
        } else {
            self.local_functions()
                .iter()
                .filter_map(|(id, _)| self.function_node(*id).map(|n| (n.start_byte(), n.end_byte())))
                .collect()
        };
        let mut found = Vec::new();
        let mut cursor = self.tree.walk();
        let mut stack = vec![self.tree.root_node()];
        while let Some(node) = stack.pop() {
            if node.kind() == "attribute" && node.parent().is_none_or(|p| p.kind() != "attribute") {
                if regions.iter().any(|&(s, e)| s <= node.start_byte() && node.end_byte() <= e) {
                    found.push(node);
                }
                continue;
            }
            if matches!(node.kind(), "import_statement" | "import_from_statement") {
                continue;
            }
            for child in node.named_children(&mut cursor) {
                stack.push(child);
            }
        }
        for node in found {
            let written = text(self.src, node);
            let chain: Vec<&str> = written.split('.').map(str::trim).collect();
            if chain.iter().any(|s| !python_identifier(s)) {
                continue;
            }
            let chain: Vec<crate::analysis::summary::Name> =
                chain.into_iter().map(crate::analysis::summary::Name::new).collect();
            let value = self.job.model.index.resolve_chain(self.job.module, 0, &chain, node.start_byte() as u32);
            let Value::External(q) = value else { continue };
            // A client constructed here (`requests.Session()`) is the clients phase's
            // to convert, with its options, and only when every use of it goes async.
            let called =
                node.parent().is_some_and(|p| p.kind() == "call" && p.child_by_field_name("function") == Some(node));
            if called && crate::draft::mappings::client_class(q.as_str()).is_some() {
                continue;
            }
            if let Some(to) = self.renames.map.get(q.as_str()) {
                let to = to.clone();
                if let Some(lib) = to.split('.').next() {
                    self.need_import(lib);
                }
                self.edits.replace(node.start_byte(), node.end_byte(), to);
            }
        }
    }
}

pub(super) fn python_identifier(s: &str) -> bool {
    crate::plan::settings::is_identifier(s)
}

#[cfg(test)]
#[path = "tests/types.rs"]
mod tests;

//! The shape checks of the walk by levels ([`super`]).

use super::*;

/// The first node of `kind` in `src`, parsed.
fn first<'t>(tree: &'t Tree, kind: &str) -> Node<'t> {
    let mut stack = vec![tree.root_node()];
    while let Some(n) = stack.pop() {
        if n.kind() == kind {
            return n;
        }
        let mut cursor = n.walk();
        let children: Vec<Node> = n.named_children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    panic!("no {kind}");
}

#[test]
fn a_limit_is_a_size_at_least_a_bound() {
    for (src, want) in [
        ("if len(pages) >= max_pages: pass\n", Some(("pages", "max_pages"))),
        ("if self.limit <= len(self.pages): pass\n", Some(("self.pages", "self.limit"))),
        ("if len(pages) >= 10: pass\n", Some(("pages", "10"))),
        ("if len(pages) > max_pages: pass\n", None),
        ("if count >= max_pages: pass\n", None),
        ("if len(pages) >= limit(): pass\n", None),
    ] {
        let tree = python::parse(src);
        let condition = first(&tree, "if_statement").child_by_field_name("condition").unwrap();
        let got = size_at_least(src, condition);
        assert_eq!(got.as_ref().map(|(a, b)| (a.as_str(), b.as_str())), want, "{src}");
    }
}

#[test]
fn paths_overlap_when_one_lies_inside_the_other() {
    assert!(overlaps("self", "self.session"));
    assert!(overlaps("page.total", "page"));
    assert!(overlaps("seen", "seen"));
    assert!(!overlaps("pages", "page"));
    assert!(!overlaps("self.pages", "self.session"));
}

#[test]
fn writes_and_reads_of_a_loop_body() {
    let src = "while queue:\n    url = queue.popleft()\n    page = self.fetch(url, headers=extra)\n    self.count += 1\n    cache[url] = page\n    for link in page.links:\n        seen.add(link)\n";
    let tree = python::parse(src);
    let body = first(&tree, "while_statement").child_by_field_name("body").unwrap();
    let request = python::node_starting(&tree, src.find("self.fetch").unwrap(), "call").unwrap();
    // The request itself is what the walk runs concurrently: its call on `self` is no write.
    let mut writes = writes_in(src, body, (request.start_byte(), request.end_byte()));
    writes.sort();
    assert_eq!(writes, ["cache", "link", "page", "queue", "seen", "self.count", "url"]);
    let mut reads = reads_of(src, request);
    reads.sort();
    assert_eq!(reads, ["extra", "self", "url"]);
}

//! Interned names: the identifiers and dotted chains of the summaries, each
//! stored once per process.
//!
//! A large repository's summaries hold millions of names but only a few hundred
//! thousand distinct ones (`self`, `get`, `os.path.join` over and over). As
//! `String`s and `Vec<String>`s they were most of the analysis's memory and
//! millions of small allocations; interned, a [`Name`] or a [`Chain`] is one
//! pointer, copied freely, compared by address and read without locking.
//!
//! Interned text is never freed. A one-shot run exits anyway; a daemon keeps
//! what it has seen, which grows only with the distinct names of the code it
//! watches (new identifiers, not edits), a small fraction of the summaries
//! that hold them.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::Deref;
use std::sync::{Mutex, OnceLock};

use rustc_hash::{FxBuildHasher, FxHashMap};
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

/// An interned string: an identifier, a dotted module name or a qualified name.
///
/// Equal names are the same interned text, so equality compares addresses;
/// hashing and ordering go by the text, as for `str`.
#[derive(Clone, Copy)]
pub struct Name(&'static &'static str);

/// An interned sequence of names, such as a dotted expression as written:
/// `self.session.get` is `["self", "session", "get"]`. A call in the middle is
/// the segment `"()"`: `requests.Session().get` is `["requests", "Session", "()", "get"]`.
#[derive(Clone, Copy)]
pub struct Chain(&'static &'static [Name]);

static EMPTY_TEXT: &str = "";
static EMPTY_PARTS: &[Name] = &[];

impl Name {
    /// The empty name.
    pub const EMPTY: Name = Name(&EMPTY_TEXT);

    /// The interned name with this text.
    pub fn new(text: &str) -> Name {
        match Name::intern(text.as_bytes(), || Ok::<_, std::convert::Infallible>(text)) {
            Ok(name) => name,
            Err(never) => match never {},
        }
    }

    /// The interned name of these bytes, if they are UTF-8: checked only when
    /// they are not interned already (then they are the bytes of a `str`).
    fn from_utf8(bytes: &[u8]) -> Result<Name, std::str::Utf8Error> {
        Name::intern(bytes, || std::str::from_utf8(bytes))
    }

    fn intern<'t, E>(bytes: &[u8], text: impl FnOnce() -> Result<&'t str, E>) -> Result<Name, E> {
        if bytes.is_empty() {
            return Ok(Name::EMPTY);
        }
        let hash = FxBuildHasher.hash_one(bytes);
        let is = |name: Name| name.as_bytes() == bytes;
        if let Some(name) = recent(|r| r.names[hash as usize % RECENT].filter(|&(h, n)| h == hash && is(n))) {
            return Ok(name.1);
        }
        let name = {
            let mut shard = shards()[shard_of(hash)].lock().unwrap_or_else(|e| e.into_inner());
            match shard.names.find(hash, is) {
                Some(name) => name,
                None => {
                    let name = Name(shard.store_text(text()?));
                    shard.names.insert(hash, name);
                    name
                }
            }
        };
        recent(|r| r.names[hash as usize % RECENT] = Some((hash, name)));
        Ok(name)
    }

    /// The text.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl Chain {
    /// The empty chain.
    pub const EMPTY: Chain = Chain(&EMPTY_PARTS);

    /// The interned chain of these names.
    pub fn new(parts: &[Name]) -> Chain {
        if parts.is_empty() {
            return Chain::EMPTY;
        }
        // Names are interned: their addresses identify them, and are quicker to hash than their text.
        let mut hasher = FxBuildHasher.build_hasher();
        for part in parts {
            hasher.write_usize(std::ptr::from_ref(part.0).addr());
        }
        let hash = hasher.finish();
        let is = |chain: Chain| chain.as_slice() == parts;
        if let Some(chain) = recent(|r| r.chains[hash as usize % RECENT].filter(|&(h, c)| h == hash && is(c))) {
            return chain.1;
        }
        let chain = {
            let mut shard = shards()[shard_of(hash)].lock().unwrap_or_else(|e| e.into_inner());
            match shard.chains.find(hash, is) {
                Some(chain) => chain,
                None => {
                    let chain = Chain(shard.store_parts(parts));
                    shard.chains.insert(hash, chain);
                    chain
                }
            }
        };
        recent(|r| r.chains[hash as usize % RECENT] = Some((hash, chain)));
        chain
    }

    /// The interned chain of these texts.
    pub fn from_strs<S: AsRef<str>>(parts: impl IntoIterator<Item = S>) -> Chain {
        let names: Vec<Name> = parts.into_iter().map(|p| Name::new(p.as_ref())).collect();
        Chain::new(&names)
    }

    /// The names.
    pub fn as_slice(self) -> &'static [Name] {
        self.0
    }
}

// ---- The interner ----

/// Shards, so that threads interning at once rarely wait for each other.
const SHARDS: usize = 16;
/// How many bytes of text, names or slots are set aside at a time.
const CHUNK: usize = 16 * 1024;
/// Slots of each thread's cache of recently interned names and chains.
const RECENT: usize = 4096;

/// One shard of the interner: the interned names and chains whose hash falls
/// here, and the rest of the chunks new ones are stored in.
#[derive(Default)]
struct Shard {
    names: Table<Name>,
    chains: Table<Chain>,
    text: &'static mut [u8],
    name_slots: &'static mut [&'static str],
    parts: &'static mut [Name],
    chain_slots: &'static mut [&'static [Name]],
}

/// Interned values by their 64-bit hash, computed once by the caller.
struct Table<T> {
    /// The first value interned with each hash.
    first: FxHashMap<u64, T>,
    /// Later values whose hash was taken already (in practice never).
    more: Vec<(u64, T)>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table { first: FxHashMap::default(), more: Vec::new() }
    }
}

impl<T: Copy> Table<T> {
    fn find(&self, hash: u64, is: impl Fn(T) -> bool) -> Option<T> {
        let first = *self.first.get(&hash)?;
        if is(first) {
            return Some(first);
        }
        self.more.iter().find(|&&(h, t)| h == hash && is(t)).map(|&(_, t)| t)
    }

    fn insert(&mut self, hash: u64, value: T) {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.first.entry(hash) {
            slot.insert(value);
        } else {
            self.more.push((hash, value));
        }
    }
}

/// A thread's cache of what it interned last, by hash: most names and chains
/// repeat within a file, and a hit here takes no lock.
struct Recent {
    names: [Option<(u64, Name)>; RECENT],
    chains: [Option<(u64, Chain)>; RECENT],
}

fn recent<T>(f: impl FnOnce(&mut Recent) -> T) -> T {
    thread_local! {
        // Initialised in place, so that reaching it is no more than an offset.
        static RECENT_: RefCell<Recent> =
            const { RefCell::new(Recent { names: [None; RECENT], chains: [None; RECENT] }) };
    }
    RECENT_.with(|r| f(&mut r.borrow_mut()))
}

fn shards() -> &'static [Mutex<Shard>; SHARDS] {
    static SHARDS_: OnceLock<[Mutex<Shard>; SHARDS]> = OnceLock::new();
    SHARDS_.get_or_init(Default::default)
}

/// The shard of a hash: bits the hash map and the recent cache do not use.
fn shard_of(hash: u64) -> usize {
    (hash >> 40) as usize % SHARDS
}

/// Take `n` items off the front of `rest`, starting a new leaked chunk of `fill`
/// when it has too few left (or a chunk of its own for a large request).
fn carve<T: Copy>(rest: &mut &'static mut [T], n: usize, fill: T) -> &'static mut [T] {
    if rest.len() < n {
        let chunk = vec![fill; n.max(CHUNK / size_of::<T>().max(1))].leak();
        if n * 2 > chunk.len() {
            return &mut chunk[..n];
        }
        *rest = chunk;
    }
    let (head, tail) = std::mem::take(rest).split_at_mut(n);
    *rest = tail;
    head
}

impl Shard {
    fn store_text(&mut self, text: &str) -> &'static &'static str {
        let bytes = carve(&mut self.text, text.len(), 0);
        bytes.copy_from_slice(text.as_bytes());
        let stored = std::str::from_utf8(bytes).expect("a copy of a str is UTF-8");
        let slot = &mut carve(&mut self.name_slots, 1, "")[0];
        *slot = stored;
        slot
    }

    fn store_parts(&mut self, parts: &[Name]) -> &'static &'static [Name] {
        let stored = carve(&mut self.parts, parts.len(), Name::EMPTY);
        stored.copy_from_slice(parts);
        let slot = &mut carve(&mut self.chain_slots, 1, EMPTY_PARTS)[0];
        *slot = stored;
        slot
    }
}

// ---- Name as a string ----

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}
impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.0
    }
}
impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.0
    }
}
impl Default for Name {
    fn default() -> Name {
        Name::EMPTY
    }
}
impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        // One interned copy per text: the same text is the same address.
        std::ptr::eq(self.0, other.0)
    }
}
impl Eq for Name {}
impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}
impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Name {
    fn cmp(&self, other: &Name) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}
impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}
impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}
impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        self == other.as_str()
    }
}
impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == other.as_str()
    }
}
impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        self == other.as_str()
    }
}
impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}
impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
impl From<&str> for Name {
    fn from(text: &str) -> Name {
        Name::new(text)
    }
}
impl From<&String> for Name {
    fn from(text: &String) -> Name {
        Name::new(text)
    }
}
impl From<String> for Name {
    fn from(text: String) -> Name {
        Name::new(&text)
    }
}
impl From<Name> for String {
    fn from(name: Name) -> String {
        name.as_str().to_string()
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Name, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = Name;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Name, E> {
                Ok(Name::new(text))
            }
            fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Name, E> {
                Name::from_utf8(bytes).map_err(E::custom)
            }
        }
        // Asked for as bytes, which the cache's encoding (postcard) stores as it
        // stores a string: a name seen before is then found without checking its
        // UTF-8 again, and most names in a summary have been seen before.
        deserializer.deserialize_bytes(Text)
    }
}

// ---- Chain as a slice of names ----

impl Deref for Chain {
    type Target = [Name];
    fn deref(&self) -> &[Name] {
        self.0
    }
}
impl AsRef<[Name]> for Chain {
    fn as_ref(&self) -> &[Name] {
        self.0
    }
}
impl Default for Chain {
    fn default() -> Chain {
        Chain::EMPTY
    }
}
impl PartialEq for Chain {
    fn eq(&self, other: &Chain) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}
impl Eq for Chain {}
impl Hash for Chain {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}
impl PartialOrd for Chain {
    fn partial_cmp(&self, other: &Chain) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Chain {
    fn cmp(&self, other: &Chain) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}
impl<T> PartialEq<[T]> for Chain
where
    Name: PartialEq<T>,
{
    fn eq(&self, other: &[T]) -> bool {
        self.as_slice() == other
    }
}
impl<T, const N: usize> PartialEq<[T; N]> for Chain
where
    Name: PartialEq<T>,
{
    fn eq(&self, other: &[T; N]) -> bool {
        self.as_slice() == other
    }
}
impl<T> PartialEq<Vec<T>> for Chain
where
    Name: PartialEq<T>,
{
    fn eq(&self, other: &Vec<T>) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}
impl From<&[Name]> for Chain {
    fn from(parts: &[Name]) -> Chain {
        Chain::new(parts)
    }
}
impl From<Vec<Name>> for Chain {
    fn from(parts: Vec<Name>) -> Chain {
        Chain::new(&parts)
    }
}
impl From<Vec<String>> for Chain {
    fn from(parts: Vec<String>) -> Chain {
        Chain::from_strs(parts)
    }
}
impl FromIterator<Name> for Chain {
    fn from_iter<I: IntoIterator<Item = Name>>(iter: I) -> Chain {
        Chain::new(&iter.into_iter().collect::<Vec<_>>())
    }
}
impl FromIterator<String> for Chain {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Chain {
        Chain::from_strs(iter)
    }
}
impl<'a> FromIterator<&'a str> for Chain {
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> Chain {
        Chain::from_strs(iter)
    }
}
impl IntoIterator for &Chain {
    type Item = &'static Name;
    type IntoIter = std::slice::Iter<'static, Name>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Serialize for Chain {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for part in self.iter() {
            seq.serialize_element(part.as_str())?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Chain {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Chain, D::Error> {
        struct Parts;
        impl<'de> Visitor<'de> for Parts {
            type Value = Chain;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Chain, A::Error> {
                // Most chains are short: gather them on the stack.
                let mut short = [Name::EMPTY; 8];
                let mut long = Vec::new();
                let mut n = 0;
                while let Some(part) = seq.next_element::<Name>()? {
                    if n < short.len() {
                        short[n] = part;
                    } else {
                        if long.is_empty() {
                            long.extend_from_slice(&short);
                        }
                        long.push(part);
                    }
                    n += 1;
                }
                Ok(Chain::new(if long.is_empty() { &short[..n] } else { &long }))
            }
        }
        deserializer.deserialize_seq(Parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_are_one_name_and_one_chain() {
        let a = Name::new("requests");
        let b = Name::from(String::from("requests"));
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(a, b);
        assert_ne!(a, Name::new("request"));
        assert_eq!(a, "requests");
        assert_eq!(Name::new(""), Name::EMPTY);
        let c = Chain::from_strs(["requests", "get"]);
        assert_eq!(c, Chain::new(&[a, Name::new("get")]));
        assert_eq!(c, ["requests", "get"]);
        assert_eq!(c.join("."), "requests.get");
        assert_eq!(format!("{c:?}"), r#"["requests", "get"]"#);
        assert_eq!(Chain::from_strs(Vec::<String>::new()), Chain::EMPTY);
    }

    #[test]
    fn threads_interning_at_once_get_the_same_names() {
        let texts: Vec<String> = (0..5000).map(|i| format!("threaded_{i}")).collect();
        let intern = || texts.iter().map(|t| (Name::new(t), Chain::from_strs([t.as_str(), "x"]))).collect::<Vec<_>>();
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(intern);
            let b = s.spawn(intern);
            (a.join().unwrap(), b.join().unwrap())
        });
        assert_eq!(a, b);
        assert!(a.iter().zip(&texts).all(|((name, chain), text)| name == text && chain[0] == *name));
    }

    #[test]
    fn long_names_and_chains_round_trip_through_the_cache_encoding() {
        let long = "x".repeat(CHUNK * 2);
        let parts: Vec<String> = (0..20).map(|i| format!("part{i}")).chain([long.clone()]).collect();
        let chain = Chain::from_strs(&parts);
        let bytes = postcard::to_allocvec(&chain).unwrap();
        // The encoding is that of a `Vec<String>`.
        assert_eq!(bytes, postcard::to_allocvec(&parts).unwrap());
        let back: Chain = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, chain);
        assert_eq!(back.last().unwrap().as_str(), long);
        // Names are read as bytes: what is not UTF-8 is still refused.
        assert_eq!(postcard::from_bytes::<Name>(&[3, b'a', b'b', b'c']).unwrap(), "abc");
        assert!(postcard::from_bytes::<Name>(&[2, 0xff, 0xfe]).is_err());
    }
}

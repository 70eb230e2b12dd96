//! The rebuild: the index made to speak for every credential the keychain
//! holds again, after it was lost, a shard was damaged, or a store was cut
//! short. A person's command reads the index through `read_index`, which
//! rebuilds first when it must; `adopt` gives one credential the keychain
//! alone holds its record back, for a command that names it.

use std::collections::HashSet;
use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::{Storage, warn_index};
use crate::credential::{Target, TokenKind};
use crate::index::{Index, Snapshot};
use crate::keychain::{Found, Key, KeychainError, Listed, SecretStore};
use crate::matching::keychain_accounts;
use crate::output::{Messages, describe};
use crate::record::{self, Record};
use crate::url_argument::Named;

/// From this many items to read on, a rebuild says that it is under way
/// before it reads them: about a second at a thousand on gnome-keyring,
/// twenty at ten thousand.
const MANY_TO_READ: usize = 1_000;

/// What the keychain alone holds for a URL a person named.
#[derive(Debug)]
pub enum Adopted {
    /// Nothing: the credential is not stored.
    Missing,
    /// One credential, whose record is now in the index.
    One(Box<Record>),
    /// Several accounts, and no `--user` to choose one.
    Several(Vec<String>),
}

/// The index as it is now, first made complete from the keychain when it
/// was lost or damaged, or when a store left a note (in flight, or cut
/// short): a person's command never misses what the keychain holds. `open`
/// opens the keychain, only when a rebuild is due. A problem with the
/// index is worth a warning.
pub fn read_index<W: Write, K: SecretStore>(
    index: &Index,
    now: DateTime<Utc>,
    open: impl FnOnce(&mut Messages<W>) -> Result<K, KeychainError>,
    messages: &mut Messages<W>,
) -> Snapshot {
    let mut snapshot = index.read();
    let suspect = snapshot.problem.is_some() || index.has_pending();
    if !index.is_complete() || suspect {
        match open(messages) {
            Ok(keychain) => Storage {
                index,
                keychain: &keychain,
                now,
            }
            .complete(suspect, messages),
            Err(err) => crate::trace!("index not rebuilt: {err}"),
        }
        snapshot = index.read();
    }
    if let Some(problem) = &snapshot.problem {
        messages.warning(problem);
    }
    snapshot
}

/// The one credential a person names by URL and `--user` among `records`.
/// When the index has none, the keychain (`open`ed with the settings of
/// what is named) is asked for that exact URL, as `get` does, and what it
/// holds gets its record back.
pub fn one_named<W: Write, K: SecretStore>(
    index: &Index,
    now: DateTime<Utc>,
    named: &Named,
    open: impl FnOnce(&mut Messages<W>) -> Result<K>,
    messages: &mut Messages<W>,
) -> Result<Record> {
    if !named.found.is_empty() {
        return Ok(named.one()?.clone());
    }
    let keychain = open(messages)?;
    let storage = Storage {
        index,
        keychain: &keychain,
        now,
    };
    match storage.adopt(&named.target, named.user.as_deref(), messages)? {
        Adopted::One(record) => Ok(*record),
        Adopted::Missing => Err(named.not_stored()),
        Adopted::Several(accounts) => Err(named.several(&accounts).into()),
    }
}

impl Storage<'_> {
    /// Makes the index speak for every credential again, when it does not:
    /// a version-1 index is migrated and damaged shards are set aside; then,
    /// when the index was lost or damaged (or `suspect`: the caller saw a
    /// damaged shard or a store's pending note, which the marker does not
    /// tell), every item of ours the keychain lists gets a record, with what
    /// its secret tells (one search of the whole keyring, and one read per
    /// item found missing: this runs after such a loss, never on git's
    /// ordinary path).
    pub fn complete(&self, suspect: bool, messages: &mut Messages<impl Write>) {
        if self.index.is_complete() && !suspect {
            return;
        }
        // A write that changes nothing migrates and sets damage aside.
        let cleaned = self
            .index
            .update(&mut warn_index(messages), |_| ((), false));
        match cleaned {
            Ok(()) => {}
            // Said where the shard was read; nothing can be added to it.
            Err(err @ crate::index::IndexError::NewerSchema { .. }) => {
                crate::trace!("index not rebuilt: {err}");
                return;
            }
            Err(err) => {
                messages.warning(&err.to_string());
                return;
            }
        }
        if self.index.is_complete() && !suspect {
            return;
        }
        let listed = match self.keychain.all() {
            Ok(listed) => listed,
            Err(err) => {
                messages.warning(&format!("the index could not be rebuilt: {err}"));
                return;
            }
        };
        // Where the keychain cannot list its items, a store's note is the
        // only sign of what it left there: it stays for `get` to follow.
        let listed_all = listed.is_some();
        let known: HashSet<(Target, String)> = self
            .index
            .read()
            .records
            .into_iter()
            .filter(Record::is_live)
            .map(|r| (r.target, r.username))
            .collect();
        let missing: Vec<Listed> = listed
            .unwrap_or_default()
            .into_iter()
            .filter(|Listed { key, .. }| {
                !known.contains(&(key.target.clone(), key.username.clone()))
            })
            .collect();
        if missing.len() >= MANY_TO_READ {
            // Several seconds of silence otherwise: gnome-keyring answers
            // each item's reads more slowly the more items it holds.
            messages.hint(&format!(
                "the index is being rebuilt from the keychain: reading {} items, which takes \
                 a while; the next command will not",
                missing.len()
            ));
        }
        // Read together where the keychain can (a thousand items a call
        // instead of one each); the rest are read one by one. The search
        // that listed them has just read each item's attributes.
        let items: Vec<String> = missing.iter().filter_map(|l| l.item.clone()).collect();
        let mut together = self.keychain.read_together(&items);
        let mut found = Vec::new();
        let mut unread = 0;
        let mut failed = None;
        for Listed { key, item } in missing {
            let read_together = item.as_ref().and_then(|item| together.remove(item));
            // After one failure (a locked keyring, a timeout) the rest are
            // not read: each would wait as long.
            let read = match (read_together, &failed) {
                (Some(secrets), _) => Ok(Some(Found {
                    secrets,
                    item: item.clone(),
                    outdated: false,
                })),
                (None, None) => self.keychain.find(&key, item.as_deref()),
                (None, Some(_)) => Ok(None),
            };
            let record = match read {
                Ok(Some(secrets)) => {
                    let mut record =
                        Record::found(key.target, key.username, &secrets.secrets, self.now);
                    record.keychain_item = secrets.item;
                    record
                }
                unreadable => {
                    if let Err(err) = unreadable {
                        failed = Some(err);
                    }
                    unread += 1;
                    let mut record =
                        Record::new(key.target, key.username, TokenKind::Unknown, self.now);
                    record.keychain_item = item;
                    record
                }
            };
            found.push(record);
        }
        let rebuilt = self.index.rebuild(&mut warn_index(messages), found);
        let added = match rebuilt {
            Ok(added) => added,
            Err(err) => {
                messages.warning(&err.to_string());
                return;
            }
        };
        if listed_all {
            self.index.clear_all_stale_pending();
        }
        if added.is_empty() {
            return;
        }
        let (count, they) = match added.len() {
            1 => ("1 credential".to_owned(), "it is"),
            n => (format!("{n} credentials"), "they are"),
        };
        messages.warning(&format!(
            "the index did not list {count} the keychain holds; {they} back (`git \
             credential-patrol list` shows them), each with the kind of token its prefix \
             tells and the expiry git kept beside it, if any"
        ));
        if unread > 0 {
            let why = failed.map(|err| format!(" ({err})")).unwrap_or_default();
            messages.warning(&format!(
                "{unread} of them could not be read{why}: their kind of token is unknown \
                 until git stores them again"
            ));
        }
        let no_expiry = added
            .iter()
            .filter(|r| !r.refreshable && r.expiry.effective().is_none())
            .count();
        let unknown = if no_expiry == 0 {
            "account and scopes".to_owned()
        } else {
            format!("account, scopes, and the expiry of {no_expiry} of them")
        };
        messages.hint(&format!(
            "what only the forge knows ({unknown}) is not kept in the keychain: `git \
             credential-patrol check` asks the forge again; `git credential-patrol expiry URL \
             DATE` sets an expiry by hand"
        ));
    }

    /// What the keychain alone holds for exactly `target` (and `user`),
    /// for a person's command that the index could not answer (a store cut
    /// short, or a keychain that cannot list its items for a rebuild): the
    /// credential found is given its record back, as `get` does.
    pub fn adopt(
        &self,
        target: &Target,
        user: Option<&str>,
        messages: &mut Messages<impl Write>,
    ) -> Result<Adopted, KeychainError> {
        let mut accounts = keychain_accounts(self.keychain, target, user)?;
        accounts.sort();
        let account = match accounts.as_slice() {
            [] => return Ok(Adopted::Missing),
            [one] => one.clone(),
            _ => return Ok(Adopted::Several(accounts)),
        };
        let key = Key::new(target.clone(), account);
        let Some(found) = self.keychain.find(&key, None)? else {
            return Ok(Adopted::Missing);
        };
        let mut record = Record::found(key.target, key.username, &found.secrets, self.now);
        record.keychain_item = found.item;
        let kept = self.index.update_host(
            &target.protocol,
            &target.host,
            &mut warn_index(messages),
            |records| {
                let theirs = records
                    .iter()
                    .find(|r| r.is_live() && r.same_credential(&record.target, &record.username))
                    .cloned();
                match theirs {
                    Some(theirs) => (theirs, false),
                    None => {
                        let changed = record::add_found(records, record.clone());
                        (record.clone(), changed)
                    }
                }
            },
        );
        Ok(Adopted::One(Box::new(match kept {
            Ok(kept) => {
                crate::trace!("index: a record rebuilt from the keychain");
                self.index
                    .clear_stale_pending(&target.protocol, &target.host);
                kept
            }
            Err(err) => {
                messages.warning(&format!(
                    "the keychain holds {}, but the index could not record it: {err}",
                    describe(target, &record.username)
                ));
                record
            }
        })))
    }
}

/// Over the in-memory store, which lists its items and reads them
/// together as the Secret Service does.
#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::index::PENDING_STALE;
    use crate::keychain::memory::Memory;
    use crate::record::Expiry;
    use crate::testing::{https, now, token};

    fn quiet() -> Messages<Vec<u8>> {
        Messages::plain(Vec::new())
    }

    /// A note a store left and died with, long enough ago to be stale.
    fn dead_store_note(index: &Index, host: &str) {
        index.begin_pending("https", host).unwrap().keep();
        let (path, _) = index.pending("https", host).pop().unwrap();
        let long_ago = SystemTime::now() - PENDING_STALE - Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
    }

    #[test]
    fn a_rebuild_keeps_what_each_item_tells_and_says_what_it_could_not() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(dir.path().join("data"));
        let keychain = Memory::default();
        let dated = token("glpat-TESTrebuild", Some(1_893_456_000));
        keychain
            .set(&Key::new(https("gitlab.example"), "bob"), &dated)
            .unwrap();
        keychain
            .set(
                &Key::new(https("opaque.example"), "carol"),
                &token("TESTopaque", None),
            )
            .unwrap();
        dead_store_note(&index, "opaque.example");
        let storage = Storage {
            index: &index,
            keychain: &keychain,
            now: now(),
        };
        let mut messages = quiet();
        storage.complete(false, &mut messages);
        let said = String::from_utf8(messages.into_inner()).unwrap();
        assert!(index.is_complete());
        let records = index.read().records;
        let bob = records.iter().find(|r| r.username == "bob").unwrap();
        assert_eq!(bob.kind, TokenKind::GitlabPersonal);
        assert_eq!(
            bob.expiry.effective(),
            Some((
                Expiry::At("2030-01-01T00:00:00Z".parse().unwrap()),
                crate::record::ExpirySource::Git
            ))
        );
        let carol = records.iter().find(|r| r.username == "carol").unwrap();
        assert_eq!(carol.kind, TokenKind::Unknown);
        assert!(
            said.contains("did not list 2 credentials the keychain holds"),
            "{said}"
        );
        assert!(
            said.contains("account, scopes, and the expiry of 1 of them"),
            "{said}"
        );
        assert!(
            index.pending("https", "opaque.example").is_empty(),
            "the keychain's whole list was read: the note is done"
        );
    }

    #[test]
    fn a_rebuild_of_many_says_it_is_under_way_before_it_reads() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(dir.path().join("data"));
        let keychain = Memory::default();
        let storage = Storage {
            index: &index,
            keychain: &keychain,
            now: now(),
        };
        let rebuilt = |storage: &Storage| {
            std::fs::remove_dir_all(dir.path().join("data")).ok();
            let mut messages = quiet();
            storage.complete(false, &mut messages);
            String::from_utf8(messages.into_inner()).unwrap()
        };
        for n in 0..MANY_TO_READ - 1 {
            let key = Key::new(https(&format!("h{n}.example")), "alice");
            keychain.set(&key, &token("ghp_TESTmany", None)).unwrap();
        }
        let said = rebuilt(&storage);
        assert!(said.contains("did not list 999 credentials"), "{said}");
        assert!(!said.contains("being rebuilt"), "{said}");
        let last = Key::new(https("last.example"), "alice");
        keychain.set(&last, &token("ghp_TESTmany", None)).unwrap();
        let said = rebuilt(&storage);
        let under_way = said
            .find("the index is being rebuilt from the keychain: reading 1000 items")
            .unwrap_or_else(|| panic!("{said}"));
        let done = said.find("did not list 1000 credentials").unwrap();
        assert!(under_way < done, "said before the reads: {said}");
    }

    #[test]
    fn a_keychain_that_cannot_list_keeps_the_notes_of_dead_stores() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(dir.path().join("data"));
        let keychain = Memory::default();
        keychain.cannot_list();
        keychain
            .set(
                &Key::new(https("h.example"), "alice"),
                &token("ghp_TESTx", None),
            )
            .unwrap();
        dead_store_note(&index, "h.example");
        let storage = Storage {
            index: &index,
            keychain: &keychain,
            now: now(),
        };
        storage.complete(true, &mut quiet());
        assert!(index.is_complete(), "complete with what it has");
        assert!(index.read().records.is_empty());
        assert_eq!(
            index.pending("https", "h.example").len(),
            1,
            "get still follows the note to the keychain"
        );
    }

    #[test]
    fn a_person_naming_a_credential_only_the_keychain_holds_gets_it_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(dir.path().join("data"));
        let keychain = Memory::default();
        for user in ["sam", "sue"] {
            keychain
                .set(
                    &Key::new(https("s.example"), user),
                    &token("ghp_TESTs", None),
                )
                .unwrap();
        }
        let storage = Storage {
            index: &index,
            keychain: &keychain,
            now: now(),
        };
        let target = https("s.example");
        match storage.adopt(&target, None, &mut quiet()).unwrap() {
            Adopted::Several(accounts) => assert_eq!(accounts, ["sam", "sue"]),
            other => panic!("{other:?}"),
        }
        match storage
            .adopt(&target, Some("nobody"), &mut quiet())
            .unwrap()
        {
            Adopted::Missing => {}
            other => panic!("{other:?}"),
        }
        let Adopted::One(sue) = storage.adopt(&target, Some("sue"), &mut quiet()).unwrap() else {
            panic!("sue not found");
        };
        assert_eq!(sue.kind, TokenKind::GithubClassic);
        assert_eq!(
            index.read_host("https", "s.example").records,
            [*sue.clone()]
        );
        // Asked again, the record the index holds comes back, not a second one.
        let Adopted::One(again) = storage.adopt(&target, Some("sue"), &mut quiet()).unwrap() else {
            panic!("sue not found again");
        };
        assert_eq!(again.id, sue.id);
        assert_eq!(index.read_host("https", "s.example").records.len(), 1);
    }
}

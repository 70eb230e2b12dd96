//! An in-memory `SecretStore` for tests of the decisions of `get`, `store`
//! and `erase`: items with paths, as the Secret Service has them, which a
//! test can move (as another program re-creating an item would) to check
//! that a stale path is never trusted.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use super::{Found, Key, KeychainError, Listed, SecretStore};
use crate::credential::{Secrets, Target};

/// A stored item: its secrets, its path, and the key it is stored under.
type Item = (Secrets, String, Key);

#[derive(Default)]
pub struct Memory {
    /// (URL, user) -> the item.
    items: RefCell<BTreeMap<(String, String), Item>>,
    next: RefCell<u32>,
    /// `accounts` fails, as a keychain whose listing fails or times out.
    listing_refused: RefCell<bool>,
    /// `all` says the store cannot list its items (macOS, the kernel
    /// keyring).
    unlisted: RefCell<bool>,
}

impl Memory {
    fn slot(key: &Key) -> (String, String) {
        (key.target.url(), key.username.clone())
    }

    fn new_path(&self) -> String {
        let mut next = self.next.borrow_mut();
        *next += 1;
        format!("/org/freedesktop/secrets/collection/test/{next}")
    }

    /// From now on `accounts` fails; the items stay readable.
    pub fn refuse_listing(&self) {
        *self.listing_refused.borrow_mut() = true;
    }

    /// From now on `all` says the store cannot list its items.
    pub fn cannot_list(&self) {
        *self.unlisted.borrow_mut() = true;
    }

    /// Gives the item under `key` a new path, as a re-created item has.
    pub fn move_item(&self, key: &Key) -> String {
        let path = self.new_path();
        if let Some((_, item, _)) = self.items.borrow_mut().get_mut(&Self::slot(key)) {
            item.clone_from(&path);
        }
        path
    }
}

impl SecretStore for Memory {
    fn find(&self, key: &Key, _item: Option<&str>) -> Result<Option<Found>, KeychainError> {
        // Like the real stores, a hint never decides what is found.
        Ok(self
            .items
            .borrow()
            .get(&Self::slot(key))
            .map(|(secrets, item, _)| Found {
                secrets: secrets.clone(),
                item: Some(item.clone()),
                outdated: false,
            }))
    }

    fn set(&self, key: &Key, secrets: &Secrets) -> Result<Option<String>, KeychainError> {
        let path = self.new_path();
        self.items.borrow_mut().insert(
            Self::slot(key),
            (secrets.clone(), path.clone(), key.clone()),
        );
        Ok(Some(path))
    }

    fn delete(&self, key: &Key) -> Result<bool, KeychainError> {
        Ok(self.items.borrow_mut().remove(&Self::slot(key)).is_some())
    }

    fn accounts(&self, target: &Target) -> Result<Vec<String>, KeychainError> {
        if *self.listing_refused.borrow() {
            return Err(KeychainError::Failed("the listing was refused".into()));
        }
        let url = target.url();
        Ok(self
            .items
            .borrow()
            .keys()
            .filter(|(found, _)| *found == url)
            .map(|(_, user)| user.clone())
            .collect())
    }

    fn all(&self) -> Result<Option<Vec<Listed>>, KeychainError> {
        if *self.listing_refused.borrow() {
            return Err(KeychainError::Failed("the listing was refused".into()));
        }
        if *self.unlisted.borrow() {
            return Ok(None);
        }
        let items = self.items.borrow();
        let listed = items.values().map(|(_, item, key)| Listed {
            key: key.clone(),
            item: Some(item.clone()),
        });
        Ok(Some(listed.collect()))
    }

    /// Read together, as the Secret Service in a plain session reads them.
    fn read_together(&self, items: &[String]) -> HashMap<String, Secrets> {
        self.items
            .borrow()
            .values()
            .filter(|(_, item, _)| items.contains(item))
            .map(|(secrets, item, _)| (item.clone(), secrets.clone()))
            .collect()
    }
}

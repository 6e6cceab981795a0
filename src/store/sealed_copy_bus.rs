//! The sealed copy's side of the Secret Service ([`super::sealed_copy`] has the format): its
//! reads, writes and deletes, each over a connection of its own with a `plain` session.
//!
//! These calls never unlock anything and never prompt: an item in a locked collection is
//! treated as absent (a locked copy is ignored; a locked record means no copy is served, and
//! the record's own read then reports the lock). Copies are created in the record's own
//! collection, whichever that is. Every write and delete here is best effort: the record is
//! authoritative, and a copy that could not be brought in line is one that no longer matches
//! its record's stamp or modification time, so it is never served.

use super::sealed_copy::{self, Lookup, Opening, SealingKey};
use crate::record::Record;
use dbus_secret_service::{Collection, EncryptionType, Error, Item, Path, SecretService};
use std::collections::HashMap;

/// A connection to the Secret Service with a `plain` session.
pub struct Bus(SecretService);

impl Bus {
    pub fn connect() -> Result<Bus, Error> {
        SecretService::connect(EncryptionType::Plain).map(Bus)
    }

    /// `entry`'s record from its copy, if the copy opens with `key` and the record it copies
    /// is in the store once, unlocked, with the copy's stamp and modification time. Four calls:
    /// `SearchItems` and `GetSecret` for the copy, `SearchItems` and `Properties.GetAll` for
    /// the record.
    pub fn read(&self, key: &SealingKey, entry: &str) -> Result<Lookup, Error> {
        let Some(copy) = self.only_unlocked_copy(entry)? else { return Ok(Lookup::Absent) };
        let sealed = zeroize::Zeroizing::new(copy.get_secret()?);
        let opened = match sealed_copy::open(key, entry, &sealed) {
            Opening::Opened(opened) => opened,
            Opening::OtherKey => return Ok(Lookup::OtherKey),
            Opening::Unusable => return Ok(Lookup::Absent),
        };
        let Some(record) = self.record_item(entry)? else { return Ok(Lookup::Absent) };
        let (attributes, modified) = record.get_attributes_and_modified()?;
        let current =
            attributes.get(sealed_copy::STAMP) == Some(&opened.stamp) && modified == opened.modified;
        Ok(if current { Lookup::Found(Box::new(opened.record)) } else { Lookup::Absent })
    }

    /// Stamp `entry`'s record, if it is there, with a stamp no copy holds: from then on no
    /// copy matches it. Done before the record is rewritten, so that a crash before its new
    /// copy is written leaves no copy of what the write replaced.
    pub fn invalidate(&self, entry: &str) -> Result<(), Error> {
        match self.record_item(entry)? {
            Some(record) => restamp(&record, &new_stamp()?).map(|_| ()),
            None => Ok(()),
        }
    }

    /// Write `entry`'s copy of `record` (just written or read under the profile's lock): a new
    /// stamp on the record, then the copy sealed with it and the record's modification time,
    /// in the record's collection, replacing every other copy this connection can see. Returns
    /// whether a copy was written; `record` that may not have one ([`sealed_copy::eligible`])
    /// has its old copies deleted instead.
    pub fn write(&self, key: &SealingKey, entry: &str, record: &Record, label: &str) -> Result<bool, Error> {
        let Some(item) = self.record_item(entry)? else {
            self.delete(entry)?;
            return Ok(false);
        };
        if !sealed_copy::eligible(record) {
            restamp(&item, &new_stamp()?)?;
            self.delete(entry)?;
            return Ok(false);
        }
        let stamp = new_stamp()?;
        let modified = restamp(&item, &stamp)?;
        let Some(sealed) = sealed_copy::seal(key, entry, &stamp, modified, record) else {
            self.delete(entry)?;
            return Ok(false);
        };
        self.delete(entry)?;
        let collection = Collection::new(&self.0, collection_of(&item)?);
        let attributes = HashMap::from([("service", sealed_copy::SERVICE), ("username", entry)]);
        collection.create_item(label, attributes, &sealed, true, "text/plain")?;
        Ok(true)
    }

    /// Delete every copy of `entry` in an unlocked collection.
    pub fn delete(&self, entry: &str) -> Result<(), Error> {
        for copy in self.copies(entry)?.unlocked {
            copy.delete()?;
        }
        Ok(())
    }

    fn copies(&self, entry: &str) -> Result<dbus_secret_service::SearchItemsResult<Item<'_>>, Error> {
        self.0.search_items(HashMap::from([("service", sealed_copy::SERVICE), ("username", entry)]))
    }

    /// The one unlocked copy of `entry`; `None` when there is none or several.
    fn only_unlocked_copy(&self, entry: &str) -> Result<Option<Item<'_>>, Error> {
        let found = self.copies(entry)?;
        Ok(if found.unlocked.len() == 1 { found.unlocked.into_iter().next() } else { None })
    }

    /// `entry`'s record item, if it is the only item with its attributes and it is unlocked.
    /// Another program's item with the same attributes makes the entry ambiguous, and a
    /// locked one is not readable: both are for the record's own read to report.
    fn record_item(&self, entry: &str) -> Result<Option<Item<'_>>, Error> {
        let found = self.0.search_items(HashMap::from([("service", super::SERVICE), ("username", entry)]))?;
        let single = found.locked.is_empty() && found.unlocked.len() == 1;
        Ok(if single { found.unlocked.into_iter().next() } else { None })
    }
}

/// Set `item`'s stamp attribute, keeping its other attributes; returns its modification time
/// afterwards.
fn restamp(item: &Item<'_>, stamp: &str) -> Result<u64, Error> {
    let (attributes, _) = item.get_attributes_and_modified()?;
    let mut updated: HashMap<&str, &str> = attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    updated.insert(sealed_copy::STAMP, stamp);
    item.set_attributes(updated)?;
    item.get_modified()
}

fn new_stamp() -> Result<String, Error> {
    sealed_copy::new_stamp().ok_or(Error::NoResult)
}

/// The collection an item is in: its object path without the last element.
fn collection_of(item: &Item<'_>) -> Result<Path<'static>, Error> {
    let path = item.path.to_string();
    let parent = path.rsplit_once('/').map(|(parent, _)| parent.to_string()).ok_or(Error::NoResult)?;
    Path::new(parent).map_err(|_| Error::NoResult)
}

//! The sealed copy's side of the Secret Service ([`super::sealed_copy`] has the format): its
//! reads, writes and deletes, each over a connection of its own with a `plain` session.
//!
//! These calls never unlock anything and never prompt (the connection's prompt timeout is
//! zero, so a call that would need a prompt fails instead): an item in a locked collection is
//! treated as absent (a locked copy is ignored; a locked record means no copy is served, and
//! the record's own read then reports the lock). Copies are created in the record's own
//! collection, whichever that is. Every write and delete here is best effort: the record is
//! authoritative, and a copy that could not be brought in line is one that no longer matches
//! its record's stamp or modification time, so it is never served.
//!
//! A connection carries a deadline, checked before every call that changes something: a
//! caller that gave up waiting (and released the profile's lock) must not find this
//! connection still writing after it.

use super::sealed_copy::{self, Lookup, Opening, SealingKey, Seen};
use crate::record::Record;
use dbus_secret_service::{Collection, EncryptionType, Error, Item, Path, SecretService};
use std::collections::HashMap;
use std::time::Instant;

/// Why a call on the copy's connection did not complete.
#[derive(Debug)]
pub enum CopyError {
    /// The Secret Service's answer (or refusal).
    Bus(Error),
    /// The deadline passed before a call that would change something.
    OutOfTime,
}

impl From<Error> for CopyError {
    fn from(err: Error) -> Self {
        CopyError::Bus(err)
    }
}

impl CopyError {
    /// Whether the Secret Service did not answer (as opposed to answering "no", or this side
    /// running out of its own time, which only ends the best-effort copy work).
    pub fn not_answering(&self) -> bool {
        match self {
            CopyError::OutOfTime => false,
            CopyError::Bus(err) => super::is_no_reply(err),
        }
    }
}

/// A connection to the Secret Service with a `plain` session and a deadline.
pub struct Bus {
    ss: SecretService,
    deadline: Instant,
}

type Result<T> = std::result::Result<T, CopyError>;

impl Bus {
    pub fn connect(deadline: Instant) -> Result<Bus> {
        let ss = SecretService::connect_with_max_prompt_timeout(EncryptionType::Plain, 0)?;
        Ok(Bus { ss, deadline })
    }

    /// `entry`'s record from its copy, if the copy opens with `key` and the record it copies
    /// is in the store once, unlocked, with the copy's stamp and modification time. Four calls:
    /// `SearchItems` and `Properties.GetAll` for the record, `SearchItems` and `GetSecret` for
    /// the copy (the record first, so that a miss says what the record looked like, for the
    /// copy written after it is read). A copy
    /// sealed under another key is [`Lookup::OtherKey`] when it was sealed in this boot (`boot`
    /// gives this boot's [`sealed_copy::boot_tag`], asked only then), else [`Lookup::Absent`]:
    /// its key died with the boot, and reading the record should replace it.
    pub fn read(
        &self,
        key: &SealingKey,
        boot: impl FnOnce() -> Option<String>,
        entry: &str,
    ) -> Result<Lookup> {
        let Some(seen) = self.record_seen(entry)? else { return Ok(Lookup::Absent(None)) };
        let Some(copy) = self.only_unlocked_copy(entry)? else { return Ok(Lookup::Absent(Some(seen))) };
        let sealed = zeroize::Zeroizing::new(copy.get_secret()?);
        let opened = match sealed_copy::open(key, entry, &sealed) {
            Opening::Opened(opened) => opened,
            Opening::OtherKey { boot: sealed_in } if boot().as_deref() == Some(sealed_in.as_str()) => {
                return Ok(Lookup::OtherKey);
            }
            Opening::OtherKey { .. } | Opening::Unusable => return Ok(Lookup::Absent(Some(seen))),
        };
        let current = seen.stamp.as_ref() == Some(&opened.stamp) && seen.modified == Some(opened.modified);
        Ok(if current { Lookup::Found(Box::new(opened.record)) } else { Lookup::Absent(Some(seen)) })
    }

    /// What `entry`'s record item shows of itself, if it is there once and unlocked.
    pub fn record_seen(&self, entry: &str) -> Result<Option<Seen>> {
        match self.record_item(entry)? {
            Some(record) => seen(&record).map(Some),
            None => Ok(None),
        }
    }

    /// Stamp `entry`'s record, if it is there, with a stamp no copy holds: from then on no
    /// copy matches it. Done before the record is rewritten, so that a crash before its new
    /// copy is written leaves no copy of what the write replaced. Returns what the record will
    /// show once rewritten by this process alone: the new stamp (no stamp, when there was no
    /// record and the write creates it), any modification time.
    pub fn invalidate(&self, entry: &str) -> Result<Seen> {
        let stamp = match self.record_item(entry)? {
            Some(record) => {
                let stamp = new_stamp()?;
                self.restamp(&record, &stamp)?;
                Some(stamp)
            }
            None => None,
        };
        Ok(Seen { stamp, modified: None })
    }

    /// Write `entry`'s copy of `record` (just written, or read under the profile's lock), if
    /// the record item still shows what `expected` says (anything else rewrote it meanwhile,
    /// and its copies just go): a new stamp on the record, then the copy sealed with it and
    /// the record's modification time, created in the record's collection in place of the copy
    /// there, and every other copy this connection can see deleted. Read back last: if the
    /// record's stamp or modification time moved meanwhile, the new copy goes again. Returns
    /// whether a copy was written; a record that may not have one
    /// ([`sealed_copy::eligible`]) has its copies deleted instead.
    pub fn write(
        &self,
        key: &SealingKey,
        boot: &str,
        entry: &str,
        record: &Record,
        expected: &Seen,
        label: &str,
    ) -> Result<bool> {
        let Some(item) = self.record_item(entry)? else {
            self.delete(entry)?;
            return Ok(false);
        };
        let now = seen(&item)?;
        if now.stamp != expected.stamp || expected.modified.is_some_and(|m| now.modified != Some(m)) {
            self.delete(entry)?;
            return Ok(false);
        }
        let stamp = new_stamp()?;
        let modified = self.restamp(&item, &stamp)?;
        let Some(sealed) = sealed_copy::seal(key, boot, entry, &stamp, modified, record) else {
            self.delete(entry)?;
            return Ok(false);
        };
        self.in_time()?;
        let collection = Collection::new(&self.ss, collection_of(&item)?);
        let attributes = HashMap::from([("service", sealed_copy::SERVICE), ("username", entry)]);
        let created = collection.create_item(label, attributes, &sealed, true, "text/plain")?;
        for other in self.copies(entry)?.unlocked {
            if other.path != created.path {
                self.in_time()?;
                other.delete()?;
            }
        }
        if seen(&item)? != (Seen { stamp: Some(stamp), modified: Some(modified) }) {
            // Another writer moved the record on: this copy would match nothing, and goes.
            self.in_time()?;
            created.delete()?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Delete every copy of `entry` in an unlocked collection.
    pub fn delete(&self, entry: &str) -> Result<()> {
        for copy in self.copies(entry)?.unlocked {
            self.in_time()?;
            copy.delete()?;
        }
        Ok(())
    }

    fn in_time(&self) -> Result<()> {
        if Instant::now() < self.deadline { Ok(()) } else { Err(CopyError::OutOfTime) }
    }

    fn copies(&self, entry: &str) -> Result<dbus_secret_service::SearchItemsResult<Item<'_>>> {
        Ok(self.ss.search_items(HashMap::from([("service", sealed_copy::SERVICE), ("username", entry)]))?)
    }

    /// The one unlocked copy of `entry`; `None` when there is none or several.
    fn only_unlocked_copy(&self, entry: &str) -> Result<Option<Item<'_>>> {
        let found = self.copies(entry)?;
        Ok(if found.unlocked.len() == 1 { found.unlocked.into_iter().next() } else { None })
    }

    /// `entry`'s record item, if it is the only item with its attributes and it is unlocked.
    /// Another program's item with the same attributes makes the entry ambiguous, and a
    /// locked one is not readable: both are for the record's own read to report.
    fn record_item(&self, entry: &str) -> Result<Option<Item<'_>>> {
        let found =
            self.ss.search_items(HashMap::from([("service", super::SERVICE), ("username", entry)]))?;
        let single = found.locked.is_empty() && found.unlocked.len() == 1;
        Ok(if single { found.unlocked.into_iter().next() } else { None })
    }

    /// Set `item`'s stamp attribute, keeping its other attributes; returns its modification
    /// time afterwards.
    fn restamp(&self, item: &Item<'_>, stamp: &str) -> Result<u64> {
        let (attributes, _) = item.get_attributes_and_modified()?;
        let mut updated: HashMap<&str, &str> =
            attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        updated.insert(sealed_copy::STAMP, stamp);
        self.in_time()?;
        item.set_attributes(updated)?;
        Ok(item.get_modified()?)
    }
}

/// What `item` shows of itself: its stamp and modification time (one `Properties.GetAll`).
fn seen(item: &Item<'_>) -> Result<Seen> {
    let (mut attributes, modified) = item.get_attributes_and_modified()?;
    Ok(Seen { stamp: attributes.remove(sealed_copy::STAMP), modified: Some(modified) })
}

fn new_stamp() -> Result<String> {
    sealed_copy::new_stamp().ok_or(CopyError::Bus(Error::NoResult))
}

/// The collection an item is in: its object path without the last element.
fn collection_of(item: &Item<'_>) -> Result<Path<'static>> {
    let path = item.path.to_string();
    let parent = path.rsplit_once('/').map(|(parent, _)| parent.to_string()).ok_or(Error::NoResult)?;
    Ok(Path::new(parent).map_err(|_| Error::NoResult)?)
}

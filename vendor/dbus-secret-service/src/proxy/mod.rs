// Copyright 2016-2024 dbus-secret-service Contributors
//
// Licensed under the Apache License, Version 2.0, <LICENSE-APACHE or
// http://apache.org/licenses/LICENSE-2.0> or the MIT license <LICENSE-MIT or
// http://opensource.org/licenses/MIT>, at your option. This file may not be
// copied, modified, or distributed except according to those terms.

pub mod collection;
pub mod item;
pub mod prompt;
pub mod service;

use dbus::blocking::{Connection, Proxy};
use std::time::Duration;

// vouch: 4 s instead of upstream's 2 s. A gnome-keyring that has just started, on a busy
// machine, can take longer than 2 s to answer its first calls; vouch bounds every store call
// at 5 s itself, and a daemon that does not answer within 4 s is still reported as such.
pub fn new_proxy<'a, 'b>(connection: &'b Connection, path: &'a str) -> Proxy<'a, &'b Connection> {
    connection.with_proxy(crate::ss::SS_DBUS_DEST, path, Duration::from_millis(4000))
}

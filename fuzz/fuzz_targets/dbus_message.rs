//! Any bytes a session bus could send patrol's own connection: reading them
//! as messages never panics, whatever they claim about their lengths, and
//! no body decodes as a type other than the one it is signed as.

#![no_main]

use std::collections::HashMap;

use git_credential_patrol::keychain::wire::{Incoming, Reply};
use libfuzzer_sys::fuzz_target;
use zvariant::{OwnedObjectPath, OwnedValue};

/// `GetSecrets`'s answer.
type Secrets = HashMap<OwnedObjectPath, (OwnedObjectPath, Vec<u8>, Vec<u8>, String)>;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some(message)) = Incoming::parse(rest) {
        assert!(message.len >= 16 && message.len <= rest.len());
        rest = &rest[message.len..];
        let Some(Reply::Return(body)) = message.reply else {
            continue;
        };
        // What patrol decodes: each at most one of these.
        let decoded = [
            body.decode::<Secrets>().is_ok(),
            body.decode::<OwnedValue>()
                .is_ok_and(|value| HashMap::<String, String>::try_from(value).is_ok()),
            body.decode::<(OwnedValue, OwnedObjectPath)>().is_ok(),
            body.decode::<OwnedObjectPath>().is_ok(),
        ];
        assert!(decoded.iter().filter(|ok| **ok).count() <= 1, "{decoded:?}");
    }
});

//! Tokens and the objects on them: which tokens a URI selects, sessions on them, search
//! templates, and URIs that name what was found.

use std::sync::atomic::Ordering;

use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::slot::{Slot, SlotInfo, TokenInfo};

use super::SESSIONS_OPENED;
use super::errors::token_error;
use super::module::Module;
use super::uri::{ObjectType, Pkcs11Uri};
use crate::error::{Error, Result};

/// A slot with a token in it, and what the URI may match against.
#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) slot: Slot,
    slot_info: SlotInfo,
    pub(crate) info: TokenInfo,
}

impl Token {
    pub(crate) fn describe(&self) -> String {
        format!(
            "'{}' (serial {}, {})",
            self.info.label(),
            self.info.serial_number(),
            self.info.model()
        )
    }

    /// A URI naming one object of this token.
    pub(crate) fn object_uri(&self, id: &[u8], label: &[u8], kind: ObjectType) -> String {
        Pkcs11Uri {
            token: Some(self.info.label().to_string()),
            manufacturer: Some(self.info.manufacturer_id().to_string()),
            model: Some(self.info.model().to_string()),
            serial: Some(self.info.serial_number().to_string()),
            id: (!id.is_empty()).then(|| id.to_vec()),
            object: (!label.is_empty()).then(|| label.to_vec()),
            object_type: Some(kind),
            ..Default::default()
        }
        .redacted()
    }
}

pub(crate) fn token_matches(uri: &Pkcs11Uri, token: &Token) -> bool {
    let differs =
        |wanted: &Option<String>, actual: &str| wanted.as_deref().is_some_and(|w| w != actual);
    !(uri.slot_id.is_some_and(|id| id != token.slot.id())
        || differs(&uri.token, token.info.label())
        || differs(&uri.manufacturer, token.info.manufacturer_id())
        || differs(&uri.model, token.info.model())
        || differs(&uri.serial, token.info.serial_number())
        || differs(&uri.slot_description, token.slot_info.slot_description())
        || differs(&uri.slot_manufacturer, token.slot_info.manufacturer_id()))
}

/// The initialised tokens the URI's token, slot and library attributes select.
pub(crate) fn tokens_matching(module: &Module, uri: &Pkcs11Uri, input: &str) -> Result<Vec<Token>> {
    let all = all_tokens(module, input)?;
    if uri.library_manufacturer.is_some()
        || uri.library_description.is_some()
        || uri.library_version.is_some()
    {
        let library = module
            .context
            .get_library_info()
            .map_err(|e| token_error(input, "reading the module's information", &e))?;
        let version = library.library_version();
        if uri
            .library_manufacturer
            .as_deref()
            .is_some_and(|m| m != library.manufacturer_id())
            || uri
                .library_description
                .as_deref()
                .is_some_and(|d| d != library.library_description())
            || uri
                .library_version
                .is_some_and(|v| v != (version.major(), version.minor()))
        {
            return Err(Error::bad_input(
                input,
                format!(
                    "the module {} is '{}' '{}' version {}.{}, which the URI's library-* attributes exclude; fix them or load another module",
                    module.path.display(),
                    library.manufacturer_id(),
                    library.library_description(),
                    version.major(),
                    version.minor()
                ),
            ));
        }
    }
    let matching: Vec<Token> = all
        .iter()
        .filter(|t| token_matches(uri, t))
        .cloned()
        .collect();
    if matching.is_empty() {
        let present = if all.is_empty() {
            "there is no initialised token at all".to_string()
        } else {
            format!(
                "tokens present: {}",
                all.iter()
                    .map(Token::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Err(Error::bad_input(
            input,
            format!(
                "no token in {} matches the URI ({present}); fix token=/serial=/slot-id= in the URI",
                module.path.display()
            ),
        ));
    }
    Ok(matching)
}

pub(crate) fn all_tokens(module: &Module, input: &str) -> Result<Vec<Token>> {
    let slots = module
        .context
        .get_slots_with_token()
        .map_err(|e| token_error(input, "listing the module's slots", &e))?;
    let mut tokens = Vec::new();
    for slot in slots {
        // A slot that cannot describe itself is skipped, as p11tool does.
        let (Ok(slot_info), Ok(info)) = (
            module.context.get_slot_info(slot),
            module.context.get_token_info(slot),
        ) else {
            continue;
        };
        if info.token_initialized() {
            tokens.push(Token {
                slot,
                slot_info,
                info,
            });
        }
    }
    Ok(tokens)
}

/// A session on one token, and whether it has logged in.
pub(crate) struct OpenToken {
    pub(crate) token: Token,
    pub(crate) session: Session,
    pub(crate) logged_in: bool,
}

pub(crate) fn open_session(module: &Module, token: &Token, input: &str) -> Result<Session> {
    let session = module.context.open_ro_session(token.slot).map_err(|e| {
        token_error(
            input,
            &format!("opening a session on token {}", token.describe()),
            &e,
        )
    })?;
    SESSIONS_OPENED.fetch_add(1, Ordering::SeqCst);
    Ok(session)
}

/// The search template for a URI's object attributes, restricted to `class`.
pub(crate) fn template(uri: &Pkcs11Uri, class: ObjectClass) -> Vec<Attribute> {
    let mut template = vec![Attribute::Class(class)];
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.clone()));
    }
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    template
}

/// Reads `CKA_ID` and `CKA_LABEL` (empty when the object has none).
pub(crate) fn id_and_label(session: &Session, object: ObjectHandle) -> (Vec<u8>, Vec<u8>) {
    let mut id = Vec::new();
    let mut label = Vec::new();
    if let Ok(attributes) =
        session.get_attributes(object, &[AttributeType::Id, AttributeType::Label])
    {
        for attribute in attributes {
            match attribute {
                Attribute::Id(v) => id = v,
                Attribute::Label(v) => label = v,
                _ => {}
            }
        }
    }
    (id, label)
}

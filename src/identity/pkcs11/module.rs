//! Which PKCS#11 module to use (`--pkcs11-lib`, the URI's module-path / module-name, else
//! p11-kit's proxy), loaded and initialised once per process.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};

use super::errors::ck;
use super::raw;
use super::uri::Pkcs11Uri;
use crate::error::{Error, Result};

/// Where p11-kit's proxy module usually lives; it is the default module, as in AWS's helper.
const P11_KIT_PROXY_PATHS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so",
    "/usr/lib/aarch64-linux-gnu/p11-kit-proxy.so",
    "/usr/lib64/p11-kit-proxy.so",
    "/usr/lib/p11-kit-proxy.so",
    "/usr/local/lib/p11-kit-proxy.so",
];

/// Test-only: the one path to try for p11-kit's proxy instead of the usual ones, so tests control
/// the default module whatever the host has installed. Used only when set.
const TEST_P11_KIT_PROXY_ENV: &str = "RAH_TEST_P11_KIT_PROXY";

/// Where modules named by `module-name` are looked for (p11-kit's module directories).
const MODULE_DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/pkcs11",
    "/usr/lib/aarch64-linux-gnu/pkcs11",
    "/usr/lib64/pkcs11",
    "/usr/lib/pkcs11",
    "/usr/local/lib/pkcs11",
];

/// A loaded and initialised PKCS#11 module, shared by everything in the process that uses it.
pub(crate) struct Module {
    /// The module file, as loaded.
    pub(crate) path: PathBuf,
    /// cryptoki's handle on it.
    pub(crate) context: Pkcs11,
    raw: OnceLock<std::result::Result<Arc<raw::RawModule>, String>>,
}

impl Module {
    /// Finalises the module and initialises it again (C_Finalize, C_Initialize). A module lists
    /// the tokens it found at C_Initialize (SoftHSM2 reads its token directory then), so a
    /// token that went away and came back is seen again only after this. Every session on the
    /// module ends.
    pub(crate) fn reinitialize(&self, input: &str) -> Result<()> {
        tracing::debug!(module = %self.path.display(), "initialising the PKCS#11 module again");
        // Not initialised (someone finalised it already) is as good as finalised.
        let _ = self.context.clone().finalize();
        initialize(&self.context, &self.path, input)
    }

    /// The raw function table, opened on first use (only always-authenticate keys need it).
    pub(crate) fn raw(&self) -> std::result::Result<Arc<raw::RawModule>, String> {
        self.raw
            .get_or_init(|| raw::RawModule::open(&self.path).map(Arc::new))
            .clone()
    }
}

static MODULES: OnceLock<Mutex<Vec<Arc<Module>>>> = OnceLock::new();

/// Loads and initialises the module at `path` once per process; `input` names it in errors.
pub(crate) fn load_module(path: &Path, input: &str) -> Result<Arc<Module>> {
    let registry = MODULES.get_or_init(Default::default);
    let mut modules = registry
        .lock()
        .map_err(|_| Error::Internal("the PKCS#11 module registry lock is poisoned".into()))?;
    if let Some(module) = modules.iter().find(|m| m.path == path) {
        return Ok(module.clone());
    }
    tracing::debug!(module = %path.display(), "loading the PKCS#11 module");
    let context = Pkcs11::new(path).map_err(|e| {
        let why = match e {
            CkError::LibraryLoading(e) => e.to_string(),
            other => other.to_string(),
        };
        Error::bad_input(
            input,
            format!(
                "cannot load the PKCS#11 module {} ({why}); install the package that provides it (SoftHSM2: softhsm2; smart cards: opensc; YubiKey: ykcs11; p11-kit proxy: p11-kit-modules) or give its path with --pkcs11-lib",
                path.display()
            ),
        )
    })?;
    initialize(&context, path, input)?;
    let module = Arc::new(Module {
        path: path.to_path_buf(),
        context,
        raw: OnceLock::new(),
    });
    modules.push(module.clone());
    Ok(module)
}

/// C_Initialize, telling the module it may use the OS's locks.
fn initialize(context: &Pkcs11, path: &Path, input: &str) -> Result<()> {
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Someone in this process initialised it already: its state is ours to share.
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(()),
        Err(e) => Err(Error::bad_input(
            input,
            format!(
                "the PKCS#11 module {} failed to initialise: {}; check its configuration (SoftHSM2: SOFTHSM2_CONF)",
                path.display(),
                ck(&e)
            ),
        )),
    }
}

/// The module to use: `--pkcs11-lib`, else the URI's module-path / module-name, else p11-kit's proxy.
pub(crate) fn module_location(
    lib_flag: Option<&str>,
    uris: &[&Pkcs11Uri],
) -> Result<(PathBuf, String)> {
    if let Some(lib) = lib_flag.filter(|l| !l.is_empty()) {
        return Ok((PathBuf::from(lib), format!("--pkcs11-lib {lib}")));
    }
    for uri in uris {
        let input = format!("PKCS#11 URI {}", uri.redacted());
        match (&uri.module_path, &uri.module_name) {
            (Some(path), name) => {
                let path = PathBuf::from(path);
                if path.is_dir() {
                    let Some(name) = name else {
                        return Err(Error::invalid_argument(
                            input,
                            "module-path names a directory: add module-name=… or give the module file",
                        ));
                    };
                    return Ok((module_file_in(&path, name), input));
                }
                return Ok((path, input));
            }
            (None, Some(name)) => {
                let found = MODULE_DIRS
                    .iter()
                    .map(|dir| module_file_in(Path::new(dir), name))
                    .find(|p| p.exists());
                return match found {
                    Some(path) => Ok((path, input)),
                    None => Err(Error::bad_input(
                        input,
                        format!(
                            "no PKCS#11 module named `{name}` in {}; install it or use module-path=/path/to/module.so or --pkcs11-lib",
                            MODULE_DIRS.join(", ")
                        ),
                    )),
                };
            }
            (None, None) => {}
        }
    }
    let candidates: Vec<String> = match std::env::var(TEST_P11_KIT_PROXY_ENV) {
        Ok(path) if !path.is_empty() => vec![path],
        _ => P11_KIT_PROXY_PATHS.iter().map(|p| p.to_string()).collect(),
    };
    match candidates.iter().find(|p| Path::new(p).exists()) {
        Some(path) => Ok((PathBuf::from(path), format!("p11-kit proxy {path}"))),
        None => Err(Error::bad_input(
            "--pkcs11-lib",
            format!(
                "no PKCS#11 module given and p11-kit's proxy is not installed (tried {}); give the module with --pkcs11-lib /path/to/module.so (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so) or install p11-kit-modules",
                candidates.join(", ")
            ),
        )),
    }
}

fn module_file_in(dir: &Path, name: &str) -> PathBuf {
    let plain = dir.join(name);
    if plain.exists() || name.ends_with(".so") {
        return plain;
    }
    let with_suffix = dir.join(format!("{name}.so"));
    if with_suffix.exists() {
        return with_suffix;
    }
    dir.join(format!("lib{name}.so"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_choice_follows_flag_then_uri_then_proxy() {
        let uri =
            Pkcs11Uri::parse("pkcs11:token=t?module-path=/opt/m.so", "--private-key").unwrap();
        let (path, input) = module_location(Some("/flag.so"), &[&uri]).unwrap();
        assert_eq!(path, PathBuf::from("/flag.so"));
        assert!(input.contains("--pkcs11-lib"));
        let (path, _) = module_location(None, &[&uri]).unwrap();
        assert_eq!(path, PathBuf::from("/opt/m.so"));
        let bare = Pkcs11Uri::parse("pkcs11:token=t", "--private-key").unwrap();
        match module_location(None, &[&bare]) {
            Ok((path, _)) => assert!(path.to_string_lossy().contains("p11-kit-proxy")),
            Err(e) => assert!(e.to_string().contains("p11-kit-proxy"), "{e}"),
        }
    }
}

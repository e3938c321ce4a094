//! serve's request routing for IMDS and the container endpoint (daemon/serve/routes.rs): request
//! heads as hyper parses them (httparse), from a loopback peer or not, one after another
//! against the same server. `{token}` in a header value stands for the last IMDS token the
//! server issued, `{container}` for the container token. Credentials are only ever served to
//! a loopback IMDS client holding a token, or to a container client with the right token.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_helper::fuzzing::Server;

const CONTAINER_TOKEN: &str = "fuzz-container-token-0123456789";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let loopback = flags & 1 == 1;
    let Ok(server) = Server::new(CONTAINER_TOKEN) else {
        return;
    };
    let mut token = String::new();
    for _ in 0..8 {
        let mut slots = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut slots);
        let Ok(httparse::Status::Complete(used)) = request.parse(rest) else {
            return;
        };
        rest = &rest[used..];
        let (Some(method), Some(target)) = (request.method, request.path) else {
            return;
        };
        let values: Vec<Vec<u8>> = request
            .headers
            .iter()
            .map(|h| {
                String::from_utf8_lossy(h.value)
                    .replace("{token}", &token)
                    .replace("{container}", CONTAINER_TOKEN)
                    .into_bytes()
            })
            .collect();
        let headers: Vec<(&[u8], &[u8])> = request
            .headers
            .iter()
            .zip(&values)
            .map(|(h, v)| (h.name.as_bytes(), v.as_slice()))
            .collect();
        let Some(outcome) = server.answer(method.as_bytes(), target.as_bytes(), &headers, loopback)
        else {
            continue;
        };
        let secret = b"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";
        let holds_secret = outcome.body.windows(secret.len()).any(|w| w == secret);
        match outcome.document {
            Some("container") => {
                let authorization = headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(b"authorization"))
                    .map(|(_, v)| *v)
                    .collect::<Vec<_>>();
                assert_eq!(authorization.first(), Some(&CONTAINER_TOKEN.as_bytes()));
            }
            Some(_) => assert!(loopback, "IMDS credentials to a non-loopback peer"),
            None => assert!(!holds_secret, "credentials without a credentials route"),
        }
        if outcome.status == 200 && outcome.document.is_none() && method == "PUT" {
            token = String::from_utf8_lossy(&outcome.body).into_owned();
        }
    }
});

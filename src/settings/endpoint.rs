//! Which URL CreateSession goes to: `--endpoint`, else `AWS_ENDPOINT_URL_ROLESANYWHERE`, else the
//! regional endpoint of the region's partition, with FIPS and dual-stack variants.

use crate::error::{Error, Result};
use crate::settings::session::partition_of_region;

/// The endpoint settings read from the environment, kept apart so resolution stays pure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointEnv {
    /// `AWS_USE_FIPS_ENDPOINT`.
    pub use_fips: bool,
    /// `AWS_USE_DUALSTACK_ENDPOINT`.
    pub use_dualstack: bool,
    /// `AWS_ENDPOINT_URL_ROLESANYWHERE`, else `AWS_ENDPOINT_URL`.
    pub endpoint_url: Option<String>,
}

impl EndpointEnv {
    /// Reads `AWS_USE_FIPS_ENDPOINT`, `AWS_USE_DUALSTACK_ENDPOINT` and
    /// `AWS_ENDPOINT_URL_ROLESANYWHERE` (ignored when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`).
    pub fn from_process() -> Self {
        let flag = |name: &str| {
            std::env::var(name)
                .map(|v| v.trim().eq_ignore_ascii_case("true"))
                .unwrap_or(false)
        };
        let ignore_urls = flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
        EndpointEnv {
            use_fips: flag("AWS_USE_FIPS_ENDPOINT"),
            use_dualstack: flag("AWS_USE_DUALSTACK_ENDPOINT"),
            endpoint_url: if ignore_urls {
                None
            } else {
                std::env::var("AWS_ENDPOINT_URL_ROLESANYWHERE")
                    .ok()
                    .filter(|v| !v.trim().is_empty())
            },
        }
    }
}

/// A resolved endpoint: the base URL and the `Host` header value that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The URL requests go to.
    pub url: reqwest::Url,
    /// `host` or `host:port` when the port is not the scheme's default.
    pub host_header: String,
    /// True when the host is a loopback address or `localhost`: never sent through a proxy.
    pub is_loopback: bool,
}

/// Works out the endpoint; `explicit` is `--endpoint`, which wins over the environment.
pub fn resolve(region: &str, explicit: Option<&str>, env: &EndpointEnv) -> Result<Endpoint> {
    if let Some(url) = explicit.filter(|u| !u.trim().is_empty()) {
        return parse("--endpoint", url);
    }
    if let Some(url) = &env.endpoint_url {
        return parse("AWS_ENDPOINT_URL_ROLESANYWHERE", url);
    }
    let partition = partition_of_region(region);
    let (suffix, dualstack_suffix) = match partition {
        "aws-cn" => ("amazonaws.com.cn", "api.amazonwebservices.com.cn"),
        "aws-iso" => ("c2s.ic.gov", "c2s.ic.gov"),
        "aws-iso-b" => ("sc2s.sgov.gov", "sc2s.sgov.gov"),
        "aws-iso-e" => ("cloud.adc-e.uk", "cloud.adc-e.uk"),
        "aws-iso-f" => ("csp.hci.ic.gov", "csp.hci.ic.gov"),
        "aws-eusc" => ("amazonaws.eu", "amazonaws.eu"),
        _ => ("amazonaws.com", "api.aws"),
    };
    let service = if env.use_fips {
        "rolesanywhere-fips"
    } else {
        "rolesanywhere"
    };
    let domain = if env.use_dualstack {
        dualstack_suffix
    } else {
        suffix
    };
    parse("region", &format!("https://{service}.{region}.{domain}"))
}

fn parse(source: &str, value: &str) -> Result<Endpoint> {
    let value = value.trim();
    let with_scheme = if value.contains("://") {
        value.to_string()
    } else {
        format!("https://{value}")
    };
    let url = reqwest::Url::parse(&with_scheme)
        .map_err(|e| Error::invalid_argument(source, format!("'{value}' is not a URL: {e}")))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(Error::invalid_argument(
            source,
            format!("'{value}' must be an https:// URL"),
        ));
    }
    let Some(host) = url.host_str() else {
        return Err(Error::invalid_argument(
            source,
            format!("'{value}' has no host"),
        ));
    };
    let host_header = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let is_loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost")
        }
        None => false,
    };
    Ok(Endpoint {
        url,
        host_header,
        is_loopback,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(region: &str, env: &EndpointEnv) -> String {
        resolve(region, None, env).unwrap().url.to_string()
    }

    #[test]
    fn resolves_every_partition_and_variant() {
        let plain = EndpointEnv::default();
        let fips = EndpointEnv {
            use_fips: true,
            ..Default::default()
        };
        let dual = EndpointEnv {
            use_dualstack: true,
            ..Default::default()
        };
        let both = EndpointEnv {
            use_fips: true,
            use_dualstack: true,
            ..Default::default()
        };
        assert_eq!(
            host("us-east-1", &plain),
            "https://rolesanywhere.us-east-1.amazonaws.com/"
        );
        assert_eq!(
            host("us-east-1", &fips),
            "https://rolesanywhere-fips.us-east-1.amazonaws.com/"
        );
        assert_eq!(
            host("us-east-1", &dual),
            "https://rolesanywhere.us-east-1.api.aws/"
        );
        assert_eq!(
            host("us-east-2", &both),
            "https://rolesanywhere-fips.us-east-2.api.aws/"
        );
        assert_eq!(
            host("cn-north-1", &plain),
            "https://rolesanywhere.cn-north-1.amazonaws.com.cn/"
        );
        assert_eq!(
            host("us-gov-west-1", &fips),
            "https://rolesanywhere-fips.us-gov-west-1.amazonaws.com/"
        );
        assert_eq!(
            host("us-iso-east-1", &plain),
            "https://rolesanywhere.us-iso-east-1.c2s.ic.gov/"
        );
        assert_eq!(
            host("us-isob-east-1", &plain),
            "https://rolesanywhere.us-isob-east-1.sc2s.sgov.gov/"
        );
    }

    #[test]
    fn explicit_endpoint_wins_over_environment() {
        let env = EndpointEnv {
            endpoint_url: Some("https://env.example:8443".into()),
            ..Default::default()
        };
        let from_env = resolve("us-east-1", None, &env).unwrap();
        assert_eq!(from_env.host_header, "env.example:8443");
        let explicit = resolve("us-east-1", Some("127.0.0.1:9443"), &env).unwrap();
        assert_eq!(explicit.url.as_str(), "https://127.0.0.1:9443/");
        assert_eq!(explicit.host_header, "127.0.0.1:9443");
        assert!(explicit.is_loopback);
        assert!(!from_env.is_loopback);
        assert_eq!(
            resolve("us-east-1", Some("https://h:443"), &env)
                .unwrap()
                .host_header,
            "h"
        );
        assert!(resolve("us-east-1", Some("ftp://h"), &env).is_err());
    }
}

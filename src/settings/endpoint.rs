//! Which URL CreateSession goes to: `--endpoint`, else `AWS_ENDPOINT_URL_ROLESANYWHERE`, else the
//! regional endpoint of the region's partition, with FIPS and dual-stack variants.

use crate::error::{Error, Result};
use crate::settings::arn::partition_of_region;

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
    /// An endpoint URL that is not UTF-8 is an error, never silently replaced by the public one.
    pub fn from_process() -> Result<Self> {
        let variables = EndpointVariables::read(&["AWS_ENDPOINT_URL_ROLESANYWHERE"])?;
        Ok(EndpointEnv {
            use_fips: variables.use_fips,
            use_dualstack: variables.use_dualstack,
            endpoint_url: variables.endpoint_url.map(|(_, url)| url),
        })
    }
}

/// The endpoint settings the environment gives a service: the FIPS and dual-stack switches, and
/// the first of its URL variables that is set, with the variable's name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointVariables {
    /// `AWS_USE_FIPS_ENDPOINT`.
    pub use_fips: bool,
    /// `AWS_USE_DUALSTACK_ENDPOINT`.
    pub use_dualstack: bool,
    /// The first URL variable set (and not blank), with its name.
    pub endpoint_url: Option<(&'static str, String)>,
}

impl EndpointVariables {
    /// Reads the switches and the first of `url_variables` that is set (none when
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`). A URL that is not UTF-8 is an error, never
    /// silently replaced by the public endpoint.
    pub fn read(url_variables: &[&'static str]) -> Result<Self> {
        let flag = |name: &str| {
            std::env::var(name)
                .map(|v| v.trim().eq_ignore_ascii_case("true"))
                .unwrap_or(false)
        };
        let mut endpoint_url = None;
        if !flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") {
            for &name in url_variables {
                match std::env::var(name) {
                    Ok(url) if !url.trim().is_empty() => {
                        endpoint_url = Some((name, url));
                        break;
                    }
                    Ok(_) | Err(std::env::VarError::NotPresent) => {}
                    Err(std::env::VarError::NotUnicode(_)) => {
                        return Err(Error::invalid_argument(
                            name,
                            "is not valid UTF-8; set it to the endpoint's URL, or unset it",
                        ));
                    }
                }
            }
        }
        Ok(EndpointVariables {
            use_fips: flag("AWS_USE_FIPS_ENDPOINT"),
            use_dualstack: flag("AWS_USE_DUALSTACK_ENDPOINT"),
            endpoint_url,
        })
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
    let partition = partition_of_region(region);
    let given = match explicit.filter(|u| !u.trim().is_empty()) {
        Some(url) => Some(("--endpoint", url)),
        None => env
            .endpoint_url
            .as_deref()
            .map(|url| ("AWS_ENDPOINT_URL_ROLESANYWHERE", url)),
    };
    if let Some((source, url)) = given {
        let endpoint = parse(source, url)?;
        // An AWS host of another partition than the region's (and the ARNs') cannot answer.
        if let Some(host) = endpoint.url.host_str()
            && let Some(partitions) = partitions_of_host(host)
            && !partitions.contains(&partition)
        {
            return Err(Error::invalid_argument(
                source,
                format!(
                    "{host} is an endpoint of partition '{}' but the region {region} is in '{partition}'; give an endpoint of that partition",
                    partitions[0]
                ),
            ));
        }
        return Ok(endpoint);
    }
    let service = if env.use_fips {
        "rolesanywhere-fips"
    } else {
        "rolesanywhere"
    };
    regional(service, region, env.use_dualstack)
}

/// The regional endpoint of an AWS service, `https://<service>.<region>.<domain>`, in the domain
/// of the region's partition (its dual-stack domain when `dualstack`).
pub fn regional(service: &str, region: &str, dualstack: bool) -> Result<Endpoint> {
    let (suffix, dualstack_suffix) = match partition_of_region(region) {
        "aws-cn" => ("amazonaws.com.cn", "api.amazonwebservices.com.cn"),
        "aws-iso" => ("c2s.ic.gov", "c2s.ic.gov"),
        "aws-iso-b" => ("sc2s.sgov.gov", "sc2s.sgov.gov"),
        "aws-iso-e" => ("cloud.adc-e.uk", "cloud.adc-e.uk"),
        "aws-iso-f" => ("csp.hci.ic.gov", "csp.hci.ic.gov"),
        "aws-eusc" => ("amazonaws.eu", "amazonaws.eu"),
        _ => ("amazonaws.com", "api.aws"),
    };
    let domain = if dualstack { dualstack_suffix } else { suffix };
    parse("region", &format!("https://{service}.{region}.{domain}"))
}

/// The longest endpoint URL accepted (far longer than any real one).
pub const MAX_ENDPOINT_LENGTH: usize = 2048;

/// The partitions an AWS host name belongs to, from its domain; `None` for other hosts (a local
/// endpoint, a proxy of one's own).
fn partitions_of_host(host: &str) -> Option<&'static [&'static str]> {
    const DOMAINS: &[(&str, &[&str])] = &[
        (".amazonaws.com.cn", &["aws-cn"]),
        (".api.amazonwebservices.com.cn", &["aws-cn"]),
        (".amazonaws.com", &["aws", "aws-us-gov"]),
        (".api.aws", &["aws", "aws-us-gov"]),
        (".c2s.ic.gov", &["aws-iso"]),
        (".sc2s.sgov.gov", &["aws-iso-b"]),
        (".cloud.adc-e.uk", &["aws-iso-e"]),
        (".csp.hci.ic.gov", &["aws-iso-f"]),
        (".amazonaws.eu", &["aws-eusc"]),
    ];
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    DOMAINS
        .iter()
        .find(|(domain, _)| host.ends_with(domain))
        .map(|(_, partitions)| *partitions)
}

/// Parses an endpoint URL given by `source` (a flag or a variable, named in errors); a value
/// without a scheme is taken as `https://`.
pub fn parse(source: &str, value: &str) -> Result<Endpoint> {
    let value = value.trim();
    // Checked first, so a 70,000-character value is neither echoed nor tried three times.
    let length = value.chars().count();
    if length > MAX_ENDPOINT_LENGTH {
        return Err(Error::invalid_argument(
            source,
            format!(
                "is {length} characters long; an endpoint URL has at most {MAX_ENDPOINT_LENGTH}"
            ),
        ));
    }
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

    #[test]
    fn an_endpoint_of_another_partition_or_of_absurd_length_is_a_usage_error() {
        let env = EndpointEnv::default();
        let usage = |region: &str, url: &str| {
            resolve(region, Some(url), &env)
                .err()
                .map(|e| e.exit_code())
        };
        assert_eq!(
            usage(
                "us-east-1",
                "https://rolesanywhere.cn-north-1.amazonaws.com.cn"
            ),
            Some(2)
        );
        assert_eq!(
            usage(
                "cn-north-1",
                "https://rolesanywhere.us-east-1.amazonaws.com"
            ),
            Some(2)
        );
        let long = format!("https://{}.example", "a".repeat(70_000));
        assert_eq!(usage("us-east-1", &long), Some(2));
        for (region, url) in [
            (
                "us-gov-west-1",
                "https://rolesanywhere.us-gov-west-1.amazonaws.com",
            ),
            (
                "cn-north-1",
                "https://rolesanywhere.cn-north-1.amazonaws.com.cn",
            ),
            ("us-east-1", "https://127.0.0.1:9443"),
            ("cn-north-1", "https://proxy.internal.example"),
        ] {
            assert!(resolve(region, Some(url), &env).is_ok(), "{region} {url}");
        }
    }
}

//! Where STS is: `--sts-endpoint`, else `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL`, else the
//! regional endpoint of the region's partition, with the FIPS and dual-stack variants.

use crate::error::Result;
use crate::settings::arn::partition_of_region;
use crate::settings::endpoint::{self, Endpoint, EndpointVariables};

/// The STS endpoint settings of the environment, kept apart so resolution stays pure.
pub type StsEnv = EndpointVariables;

/// Reads the STS endpoint settings: `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`, and the
/// FIPS and dual-stack switches.
pub fn sts_env_from_process() -> Result<StsEnv> {
    EndpointVariables::read(&["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"])
}

/// The STS endpoint for `region`: `explicit` (`--sts-endpoint`), else the environment's URL, else
/// the regional endpoint of the region's partition, with the FIPS and dual-stack variants.
pub fn resolve_endpoint(region: &str, explicit: Option<&str>, env: &StsEnv) -> Result<Endpoint> {
    if let Some(url) = explicit.filter(|u| !u.trim().is_empty()) {
        return endpoint::parse("--sts-endpoint", url);
    }
    if let Some((name, url)) = &env.endpoint_url {
        return endpoint::parse(name, url);
    }
    // GovCloud's regional STS endpoints are FIPS endpoints already, under the plain name.
    let service = if env.use_fips && partition_of_region(region) != "aws-us-gov" {
        "sts-fips"
    } else {
        "sts"
    };
    endpoint::regional(service, region, env.use_dualstack)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(region: &str, env: &StsEnv) -> String {
        resolve_endpoint(region, None, env).unwrap().url.to_string()
    }

    #[test]
    fn resolves_regional_fips_and_dualstack_endpoints_of_every_partition() {
        let plain = StsEnv::default();
        let fips = StsEnv {
            use_fips: true,
            ..Default::default()
        };
        let dual = StsEnv {
            use_dualstack: true,
            ..Default::default()
        };
        assert_eq!(
            host("us-east-1", &plain),
            "https://sts.us-east-1.amazonaws.com/"
        );
        assert_eq!(
            host("eu-west-3", &plain),
            "https://sts.eu-west-3.amazonaws.com/"
        );
        assert_eq!(
            host("us-east-2", &fips),
            "https://sts-fips.us-east-2.amazonaws.com/"
        );
        assert_eq!(host("us-east-1", &dual), "https://sts.us-east-1.api.aws/");
        assert_eq!(
            host("cn-north-1", &plain),
            "https://sts.cn-north-1.amazonaws.com.cn/"
        );
        assert_eq!(
            host("cn-northwest-1", &dual),
            "https://sts.cn-northwest-1.api.amazonwebservices.com.cn/"
        );
        assert_eq!(
            host("us-gov-west-1", &fips),
            "https://sts.us-gov-west-1.amazonaws.com/"
        );
        assert_eq!(
            host("us-iso-east-1", &plain),
            "https://sts.us-iso-east-1.c2s.ic.gov/"
        );
    }

    #[test]
    fn the_flag_wins_over_the_environment_which_wins_over_the_region() {
        let env = StsEnv {
            endpoint_url: Some(("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:5000".into())),
            ..Default::default()
        };
        let from_env = resolve_endpoint("us-east-1", None, &env).unwrap();
        assert_eq!(from_env.url.as_str(), "http://127.0.0.1:5000/");
        assert!(from_env.is_loopback);
        let flag = resolve_endpoint("us-east-1", Some("sts.example:8443"), &env).unwrap();
        assert_eq!(flag.url.as_str(), "https://sts.example:8443/");
        assert_eq!(flag.host_header, "sts.example:8443");
        let bad = resolve_endpoint("us-east-1", Some("ftp://x"), &env).unwrap_err();
        assert_eq!(bad.exit_code(), 2);
        assert!(bad.to_string().starts_with("--sts-endpoint:"), "{bad}");
        let env = StsEnv {
            endpoint_url: Some(("AWS_ENDPOINT_URL", "ftp://x".into())),
            ..Default::default()
        };
        let bad = resolve_endpoint("us-east-1", None, &env).unwrap_err();
        assert!(bad.to_string().starts_with("AWS_ENDPOINT_URL:"), "{bad}");
    }
}

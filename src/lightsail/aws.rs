//! [`Lightsail`] over aws-sdk-lightsail.
//!
//! The adapter only translates: our types to SDK builders and back, and SDK errors to
//! [`LightsailError`] classified by the wire code and HTTP status (not by the typed
//! variant, which misses Lightsail's `DoesNotExist`). Retries of throttles and 5xx are
//! the SDK's standard retry; what still fails is reported as transient.

use std::time::Duration;

use aws_config::environment::{
    EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
};
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_lightsail::Client;
use aws_sdk_lightsail::config::SharedHttpClient;
use aws_sdk_lightsail::config::http::HttpResponse;
use aws_sdk_lightsail::config::timeout::TimeoutConfig;
use aws_sdk_lightsail::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_lightsail::types::{self as sdk, NetworkProtocol};
use aws_smithy_http_client::HttpClientError;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};

use crate::firewall::{PortRule, Protocol};
use crate::ledger::Tag;
use crate::lightsail::trust::{AMAZON_TRUST_SERVICES_PEM, TrustRoots};
use crate::lightsail::{ErrorKind, Instance, Lightsail, LightsailError, Page, Regions};
use crate::policy::Policy;
use crate::region::Region;

pub struct AwsLightsail {
    client: Client,
    /// The client's Region: every instance it reads is in it.
    region: Region,
}

impl AwsLightsail {
    /// `client`, which must be configured for `region`.
    pub fn new(client: Client, region: Region) -> Self {
        AwsLightsail { client, region }
    }

    /// A client over an SDK configuration already loaded (see [`sdk_config_from_env`]),
    /// in its Region, so other clients (EventBridge, other Regions) can share its HTTP
    /// client and credentials. `None` when the configuration names no Lightsail Region.
    pub fn from_config(config: &SdkConfig) -> Option<Self> {
        let region = config_region(config)?;
        Some(AwsLightsail::new(Client::new(config), region))
    }

    pub fn region(&self) -> Region {
        self.region
    }

    /// A client over `config` in another Region: the same HTTP client, credentials and
    /// endpoint override (`AWS_ENDPOINT_URL_LIGHTSAIL`), signing for `region`.
    pub fn in_region(config: &SdkConfig, region: Region) -> Self {
        let conf = aws_sdk_lightsail::config::Builder::from(config)
            .region(aws_config::Region::from_static(region.as_str()))
            .build();
        AwsLightsail::new(Client::from_conf(conf), region)
    }

    /// [`sdk_config_from_env`] and a client over it; the endpoint may be overridden with
    /// `AWS_ENDPOINT_URL_LIGHTSAIL`.
    pub async fn from_env(roots: TrustRoots) -> Result<Self, String> {
        let config = sdk_config_from_env(roots)
            .await
            .map_err(|e| format!("cannot build the HTTPS client: {e}"))?;
        AwsLightsail::from_config(&config).ok_or_else(|| no_lightsail_region(&config))
    }
}

/// Clients for the policy's Regions other than home, each built over `config` the first
/// time a command goes there (a single-Region policy builds none).
pub fn other_regions(config: &SdkConfig, policy: &Policy) -> Regions<AwsLightsail> {
    let others: Vec<Region> = policy
        .regions
        .iter()
        .copied()
        .filter(|r| *r != policy.home)
        .collect();
    if others.is_empty() {
        return Regions::default();
    }
    let config = config.clone();
    Regions::lazy(others, move |region| {
        AwsLightsail::in_region(&config, region)
    })
}

/// Why [`AwsLightsail::from_config`] has no client: the message a person can act on.
pub fn no_lightsail_region(config: &SdkConfig) -> String {
    match config.region() {
        None => "no AWS Region is set: set AWS_REGION to the Region this function runs in".into(),
        Some(region) => format!(
            "AWS_REGION {region} is not a Lightsail Region ({}): run the function in one of them and name the others in the policy's `regions`",
            crate::region::known()
        ),
    }
}

/// The configuration's Region, when it is a Lightsail Region.
pub fn config_region(config: &SdkConfig) -> Option<Region> {
    config.region().and_then(|r| Region::parse(r.as_ref()))
}

/// Region, credentials and service endpoints from the environment (including
/// `AWS_ENDPOINT_URL_<SERVICE>`), as the SDK's default chain reads them, over an HTTPS
/// client that trusts `roots`. Each attempt is bounded, so a hung connection is retried
/// instead of stalling a sweep until the Lambda timeout; throttles and 5xx get the SDK's
/// standard retry (3 attempts). Load it once per cold start and build every client from
/// it: they then share one connection pool, trust store and credentials cache.
pub async fn sdk_config_from_env(roots: TrustRoots) -> Result<SdkConfig, HttpClientError> {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(10))
        .operation_timeout(Duration::from_secs(40))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client(roots)?)
        .timeout_config(timeouts);
    // The default chains try the environment first, so when it holds the region and
    // the keys (always, in Lambda) nothing else can win. Saying so up front skips
    // building the other providers (profiles, SSO, web identity over STS, IMDS) at
    // cold start; the answer is the same.
    if env_is_set(&["AWS_REGION"]) || env_is_set(&["AWS_DEFAULT_REGION"]) {
        loader = loader.region(EnvironmentVariableRegionProvider::new());
    }
    if env_is_set(&["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) {
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    Ok(loader.load().await)
}

/// Every variable set and not empty, as the SDK's environment providers require.
fn env_is_set(names: &[&str]) -> bool {
    names
        .iter()
        .all(|name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty()))
}

/// The SDK's own HTTPS client (hyper, rustls, aws-lc) with the trust store chosen by
/// `roots` (see [`crate::lightsail::trust`]). Also used by the credential providers
/// aws-config builds, whose endpoints (STS, SSO) are ATS-certified too.
pub fn https_client(roots: TrustRoots) -> Result<SharedHttpClient, HttpClientError> {
    let store = match roots {
        TrustRoots::AmazonTrustServices => {
            TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_PEM.as_bytes())
        }
        TrustRoots::System => TrustStore::default(),
    };
    let context = TlsContext::builder().with_trust_store(store).build()?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
}

fn failure<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> LightsailError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let kind = match &err {
        SdkError::ServiceError(_) => ErrorKind::from_wire(err.code(), status),
        SdkError::ConstructionFailure(_) => ErrorKind::InvalidInput,
        _ => ErrorKind::Transient,
    };
    let code = err.code().unwrap_or(match &err {
        SdkError::TimeoutError(_) => "Timeout",
        SdkError::DispatchFailure(_) => "DispatchFailure",
        SdkError::ConstructionFailure(_) => "ConstructionFailure",
        _ => "Unknown",
    });
    LightsailError::new(operation, kind, code, DisplayErrorContext(&err).to_string())
}

fn to_port_info(rule: &PortRule) -> sdk::PortInfo {
    // All three lists are always set: an absent list may mean "anywhere".
    sdk::PortInfo::builder()
        .protocol(NetworkProtocol::from(rule.protocol.as_str()))
        .from_port(rule.from_port)
        .to_port(rule.to_port)
        .set_cidrs(Some(rule.cidrs.clone()))
        .set_ipv6_cidrs(Some(rule.ipv6_cidrs.clone()))
        .set_cidr_list_aliases(Some(rule.cidr_list_aliases.clone()))
        .build()
}

fn from_instance(
    operation: &'static str,
    region: Region,
    instance: &sdk::Instance,
) -> Result<Instance, LightsailError> {
    let name = instance.name().unwrap_or_default().to_string();
    let mut ports = Vec::new();
    for port in instance.networking().map(|n| n.ports()).unwrap_or_default() {
        let protocol_text = port.protocol().map(|p| p.as_str()).unwrap_or("");
        // An unknown protocol must stop the caller: a Put without that rule would delete it.
        let protocol: Protocol = protocol_text.parse().map_err(|e: String| {
            LightsailError::new(
                operation,
                ErrorKind::InvalidInput,
                "UnsupportedProtocol",
                format!("{name}: {e}"),
            )
        })?;
        ports.push(PortRule {
            protocol,
            from_port: port.from_port(),
            to_port: port.to_port(),
            cidrs: port.cidrs().to_vec(),
            ipv6_cidrs: port.ipv6_cidrs().to_vec(),
            cidr_list_aliases: port.cidr_list_aliases().to_vec(),
        });
    }
    let tags = instance
        .tags()
        .iter()
        .filter_map(|t| {
            t.key().map(|key| Tag {
                key: key.to_string(),
                value: t.value().map(str::to_string),
            })
        })
        .collect();
    Ok(Instance {
        region,
        name,
        tags,
        ports,
    })
}

impl Lightsail for AwsLightsail {
    async fn get_instance(&self, name: &str) -> Result<Instance, LightsailError> {
        const OP: &str = "GetInstance";
        let out = self
            .client
            .get_instance()
            .instance_name(name)
            .send()
            .await
            .map_err(|e| failure(OP, e))?;
        match out.instance() {
            Some(instance) => from_instance(OP, self.region, instance),
            None => Err(LightsailError::new(
                OP,
                ErrorKind::NotFound,
                "DoesNotExist",
                format!("no instance {name}"),
            )),
        }
    }

    async fn get_instances(&self, page_token: Option<&str>) -> Result<Page, LightsailError> {
        const OP: &str = "GetInstances";
        let out = self
            .client
            .get_instances()
            .set_page_token(page_token.map(str::to_string))
            .send()
            .await
            .map_err(|e| failure(OP, e))?;
        Ok(Page {
            instances: out
                .instances()
                .iter()
                .map(|i| from_instance(OP, self.region, i))
                .collect::<Result<_, _>>()?,
            next_page_token: out
                .next_page_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        })
    }

    async fn open_instance_public_ports(
        &self,
        name: &str,
        rule: &PortRule,
    ) -> Result<(), LightsailError> {
        self.client
            .open_instance_public_ports()
            .instance_name(name)
            .port_info(to_port_info(rule))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failure("OpenInstancePublicPorts", e))
    }

    async fn put_instance_public_ports(
        &self,
        name: &str,
        rules: &[PortRule],
    ) -> Result<(), LightsailError> {
        self.client
            .put_instance_public_ports()
            .instance_name(name)
            .set_port_infos(Some(rules.iter().map(to_port_info).collect()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failure("PutInstancePublicPorts", e))
    }

    async fn tag_resource(&self, name: &str, tags: &[Tag]) -> Result<(), LightsailError> {
        let tags = tags
            .iter()
            .map(|t| {
                sdk::Tag::builder()
                    .key(&t.key)
                    .set_value(t.value.clone())
                    .build()
            })
            .collect();
        self.client
            .tag_resource()
            .resource_name(name)
            .set_tags(Some(tags))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failure("TagResource", e))
    }

    async fn untag_resource(&self, name: &str, keys: &[String]) -> Result<(), LightsailError> {
        self.client
            .untag_resource()
            .resource_name(name)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failure("UntagResource", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssh(cidrs: &[&str]) -> PortRule {
        PortRule {
            protocol: Protocol::Tcp,
            from_port: 22,
            to_port: 22,
            cidrs: cidrs.iter().map(|s| s.to_string()).collect(),
            ipv6_cidrs: vec![],
            cidr_list_aliases: vec![],
        }
    }

    #[test]
    fn port_info_always_carries_all_three_source_lists() {
        let info = to_port_info(&ssh(&["203.0.113.7/32"]));
        assert_eq!(info.protocol, Some(NetworkProtocol::Tcp));
        assert_eq!((info.from_port, info.to_port), (22, 22));
        assert_eq!(info.cidrs, Some(vec!["203.0.113.7/32".to_string()]));
        assert_eq!(
            info.ipv6_cidrs,
            Some(vec![]),
            "an absent list could mean anywhere"
        );
        assert_eq!(info.cidr_list_aliases, Some(vec![]));
    }

    #[test]
    fn instances_map_back_and_unknown_protocols_stop_the_caller() {
        let port = |protocol: &str| {
            sdk::InstancePortInfo::builder()
                .protocol(NetworkProtocol::from(protocol))
                .from_port(22)
                .to_port(22)
                .cidrs("203.0.113.7/32")
                .access_type(sdk::PortAccessType::from("public"))
                .build()
        };
        let instance = |protocol: &str| {
            sdk::Instance::builder()
                .name("web-1")
                .tags(sdk::Tag::builder().key("jit:managed").build())
                .networking(
                    sdk::InstanceNetworking::builder()
                        .ports(port(protocol))
                        .build(),
                )
                .build()
        };
        let mapped = from_instance("GetInstance", Region::US_EAST_1, &instance("tcp")).unwrap();
        assert_eq!(mapped.name, "web-1");
        assert_eq!(
            mapped.tags,
            vec![Tag {
                key: "jit:managed".into(),
                value: None
            }]
        );
        assert_eq!(mapped.ports, vec![ssh(&["203.0.113.7/32"])]);
        let err = from_instance("GetInstance", Region::US_EAST_1, &instance("sctp")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
    }

    #[test]
    fn the_core_knows_exactly_the_lightsail_regions_the_sdk_knows() {
        let sdk: Vec<&str> = sdk::RegionName::values().to_vec();
        assert_eq!(crate::region::LIGHTSAIL_REGIONS, sdk.as_slice());
    }

    #[test]
    fn a_single_region_policy_builds_no_other_client() {
        let config = SdkConfig::builder()
            .region(aws_config::Region::new("eu-west-1"))
            .behavior_version(BehaviorVersion::latest())
            .build();
        let home = AwsLightsail::from_config(&config).unwrap();
        assert_eq!(home.region().as_str(), "eu-west-1");
        let eu = Region::parse("eu-west-1").unwrap();
        let single = Policy::from_value_in(serde_json::json!({}), eu).unwrap();
        let none = other_regions(&config, &single);
        assert_eq!(none.built(), 0);
        assert!(
            none.client(Region::US_EAST_1).is_none(),
            "no slot for an unmanaged Region"
        );
        let policy = serde_json::json!({"regions": ["eu-west-1", "us-east-1"]});
        let two = Policy::from_value_in(policy, eu).unwrap();
        let others = other_regions(&config, &two);
        assert_eq!(
            others.built(),
            0,
            "nothing is built before a command goes there"
        );
        let us = others.client(Region::US_EAST_1).unwrap();
        assert_eq!(us.region(), Region::US_EAST_1);
        assert_eq!(
            us.client.config().region().map(|r| r.as_ref()),
            Some("us-east-1")
        );
        assert_eq!(others.built(), 1);
        assert!(
            others.client(eu).is_none(),
            "home is the App's own client, not a slot"
        );
        let config = SdkConfig::builder()
            .region(aws_config::Region::new("me-south-1"))
            .build();
        assert!(AwsLightsail::from_config(&config).is_none());
        assert!(
            no_lightsail_region(&config)
                .contains("AWS_REGION me-south-1 is not a Lightsail Region")
        );
    }
}

//! `AwsLightsail::from_env` with the environment Lambda gives a function: region and the
//! role's keys in variables, plus `AWS_ENDPOINT_URL_LIGHTSAIL` aimed at the simulator.
//! The adapter tells aws-config to take region and keys from the environment without
//! building the rest of the default chains (a cold-start saving); this shows the client
//! still signs with exactly those keys and that region, and honours the endpoint variable.
//!
//! One test function: the environment is process-wide.

mod common;

use common::*;
use lightsail_jit::lightsail::Lightsail;
use lightsail_jit::lightsail::aws::AwsLightsail;
use lightsail_jit::lightsail::trust::TrustRoots;

#[tokio::test]
async fn the_lambda_environment_supplies_keys_region_and_endpoint() {
    let sim = sim_server(instances()).await;
    // SAFETY: the only test in this binary; the server's tasks do not read the environment.
    unsafe {
        std::env::set_var("AWS_REGION", "eu-west-3");
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDFROMTHEENVIRONMENT");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "secret/from/the/environment");
        std::env::set_var("AWS_SESSION_TOKEN", "session-token-from-the-environment");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_ENDPOINT_URL_LIGHTSAIL", sim.url());
        // A profile that would fail if it were consulted instead of the environment.
        std::env::set_var("AWS_PROFILE", "no-such-profile");
        std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/lightsail-jit/config");
    }

    let aws = AwsLightsail::from_env(TrustRoots::AmazonTrustServices)
        .await
        .unwrap();
    let web = aws.get_instance("web-1").await.unwrap();
    assert_eq!(web.ports, web_baseline());

    let requests = sim.requests();
    assert_eq!(requests.len(), 1);
    let scope: Vec<&str> = requests[0].credential.split('/').collect();
    assert_eq!(scope.len(), 5, "{}", requests[0].credential);
    assert_eq!(scope[0], "AKIDFROMTHEENVIRONMENT");
    assert_eq!(&scope[2..], ["eu-west-3", "lightsail", "aws4_request"]);
}

//! Lightsail Regions: an instance is `(region, name)`, because Lightsail is regional
//! (one endpoint per Region) and instance names are unique only within one.
//!
//! A [`Region`] can only hold one of [`LIGHTSAIL_REGIONS`], the Regions the AWS SDK's
//! `RegionName` knows (a test in `lightsail::aws` keeps the two lists equal), so a typo
//! in the policy stops the cold start and a typo in a command is refused before any call.
//! Being a `&'static str` underneath, a Region is `Copy` and compares in a few
//! instructions: it travels with every instance through the sweep for free.

use std::fmt;

use serde::Serialize;

/// Every Region Lightsail serves, as aws-sdk-lightsail's `RegionName` lists them.
pub const LIGHTSAIL_REGIONS: &[&str] = &[
    "ap-east-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-5",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// One Lightsail Region.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Region(&'static str);

impl Region {
    /// `us-east-1`: what a policy read without its Region (tests, tools, the in-memory
    /// simulator) takes as home. The function itself always names its own
    /// (`AWS_REGION`).
    pub const US_EAST_1: Region = Region("us-east-1");

    /// The Region named `name`, if Lightsail serves it.
    pub fn parse(name: &str) -> Option<Region> {
        LIGHTSAIL_REGIONS
            .iter()
            .find(|known| **known == name)
            .map(|known| Region(known))
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// Every Region, for messages that tell the sender what would have been accepted.
    pub fn all() -> impl Iterator<Item = Region> {
        LIGHTSAIL_REGIONS.iter().map(|name| Region(name))
    }
}

impl Default for Region {
    fn default() -> Self {
        Region::US_EAST_1
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Region::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("{name:?} is not a Lightsail Region")))
    }
}

/// One instance as the product names it everywhere: its Region and its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct InstanceRef<'a> {
    pub region: Region,
    pub name: &'a str,
}

impl<'a> InstanceRef<'a> {
    pub fn new(region: Region, name: &'a str) -> Self {
        InstanceRef { region, name }
    }
}

impl fmt::Display for InstanceRef<'_> {
    /// `web-1 (eu-west-1)`: how messages and summaries name an instance.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.region)
    }
}

/// `region/name` in a policy key, or a bare name meaning `home`.
pub fn split_key(key: &str, home: Region) -> Result<(Region, &str), String> {
    match key.split_once('/') {
        None => Ok((home, key)),
        Some((region, name)) => Region::parse(region)
            .map(|region| (region, name))
            .ok_or_else(|| format!("{region:?} is not a Lightsail Region ({})", known())),
    }
}

/// The known Regions, for a message.
pub fn known() -> String {
    LIGHTSAIL_REGIONS.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lightsail_regions_parse() {
        assert_eq!(
            Region::parse("eu-west-1").map(Region::as_str),
            Some("eu-west-1")
        );
        for bad in [
            "",
            "EU-WEST-1",
            "eu-west-1 ",
            "mars-1",
            "me-south-1",
            "us-east-1/",
        ] {
            assert_eq!(Region::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn keys_name_a_region_or_mean_home() {
        let home = Region::parse("eu-west-3").unwrap();
        assert_eq!(split_key("web-1", home), Ok((home, "web-1")));
        let eu = Region::parse("eu-west-1").unwrap();
        assert_eq!(split_key("eu-west-1/web-1", home), Ok((eu, "web-1")));
        let e = split_key("eu-west-9/web-1", home).unwrap_err();
        assert!(e.contains("\"eu-west-9\" is not a Lightsail Region"), "{e}");
    }
}

//! Typed values of the warehouse: each parses from raw input once and is valid from then on
//! ("parse, don't validate"). A value that exists is a value the rest of the code may trust.
//!
//! Longer than most files here on purpose: every typed value of the warehouse (ids, SKUs,
//! GTINs, locations, packages, services) is small, and one place to look for them reads
//! better than one file each.

use std::fmt;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Why a raw value was refused, in words a packer (or an integrator) can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ParseError {
    pub field: &'static str,
    pub message: String,
}

impl ParseError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

const ID_ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

fn random_suffix(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ID_ALPHABET[rng.random_range(0..ID_ALPHABET.len())] as char)
        .collect()
}

/// An id's 16 characters: the time in milliseconds in 9 base-36 digits (good until the
/// year 5188), then 7 random ones (36^7 ≈ 78 billion per millisecond). Ids made later sort
/// later, so the rows the bench is working on now — orders imported and claimed together,
/// their lines and events — sit next to each other in every index keyed by id rather than
/// one page apart per operation: fewer pages per commit and per checkpoint (BENCHMARKS.md,
/// "Design figures kept out of the code").
// Ids carry the wall time they were made at, whatever clock a test runs the bench on.
#[allow(clippy::disallowed_methods)]
fn time_ordered_suffix() -> String {
    let mut ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    let mut time = [b'0'; 9];
    for digit in time.iter_mut().rev() {
        *digit = ID_ALPHABET[(ms % 36) as usize];
        ms /= 36;
    }
    let mut out = String::from_utf8_lossy(&time).into_owned();
    out.push_str(&random_suffix(7));
    out
}

/// Declares a prefixed opaque id such as `ord_abc123` (the seed's shape).
macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new id, later than the ones made before it (to the millisecond).
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, time_ordered_suffix()))
            }

            /// Parses an id as it appears in a URL or a JSON body.
            pub fn parse(raw: &str) -> Result<Self, ParseError> {
                let rest = raw.strip_prefix($prefix).ok_or_else(|| {
                    ParseError::new($field, format!("must start with `{}`", $prefix))
                })?;
                if rest.is_empty()
                    || rest.len() > 40
                    || !rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Err(ParseError::new(
                        $field,
                        format!("`{raw}` is not a valid id (letters, digits, `_` or `-` after `{}`)", $prefix),
                    ));
                }
                Ok(Self(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

prefixed_id!(
    /// An order at the bench.
    OrderId, "ord_", "order_id"
);
prefixed_id!(
    /// A shipment (one package, one label).
    ShipmentId, "shp_", "shipment_id"
);
prefixed_id!(
    /// A user (admin or operator) of one tenant.
    UserId, "usr_", "user_id"
);
prefixed_id!(
    /// A tenant (one warehouse business).
    TenantId, "ten_", "tenant_id"
);

/// A tenant's URL slug, as in `/api/{tenant}/...`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let ok = (2..=40).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new(
                "tenant",
                "2-40 lowercase letters, digits or `-`, not starting or ending with `-`",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stock keeping unit as the shop names it. Compared without regard to ASCII case,
/// because labels on shelves and in Shopify disagree about case more often than not.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl Sku {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(ParseError::new("sku", "must not be empty"));
        }
        if s.len() > 64 {
            return Err(ParseError::new("sku", "must be at most 64 characters"));
        }
        if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(ParseError::new(
                "sku",
                "must not contain spaces or control characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The form used for matching and for keys in storage.
    pub fn key(&self) -> String {
        self.0.to_ascii_uppercase()
    }
}

impl PartialEq for Sku {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for Sku {}

impl TryFrom<String> for Sku {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<Sku> for String {
    fn from(value: Sku) -> Self {
        value.0
    }
}
impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A product code (EAN-8, UPC-A, EAN-13 or GTIN-14), normalised to GTIN-14 so that a UPC-A
/// scan matches the same product stored as EAN-13 with a leading zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Gtin(String);

impl Gtin {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::new("barcode", "must contain digits only"));
        }
        if ![8, 12, 13, 14].contains(&s.len()) {
            return Err(ParseError::new(
                "barcode",
                "must be 8, 12, 13 or 14 digits (EAN-8, UPC-A, EAN-13, GTIN-14)",
            ));
        }
        let padded = format!("{s:0>14}");
        let digits: Vec<u32> = padded.bytes().map(|b| u32::from(b - b'0')).collect();
        // GS1 mod-10: from the right (excluding the check digit), weights 3,1,3,1...
        let sum: u32 = digits[..13]
            .iter()
            .rev()
            .enumerate()
            .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
            .sum();
        let check = (10 - sum % 10) % 10;
        if check != digits[13] {
            return Err(ParseError::new(
                "barcode",
                format!("check digit of `{s}` is wrong (expected {check})"),
            ));
        }
        Ok(Self(padded))
    }
    /// The 14-digit form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Gtin {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<Gtin> for String {
    fn from(value: Gtin) -> Self {
        value.0
    }
}

/// What a scanner or a person typed to identify an item: a product code if it reads as one,
/// otherwise a SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemCode {
    Sku(Sku),
    Barcode(Gtin),
}

/// A count of units: at least 1, at most 100,000 (a bench never picks more at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Quantity(u32);

impl Quantity {
    pub const MAX: u32 = 100_000;
    pub fn new(n: i64) -> Result<Self, ParseError> {
        if n < 1 {
            return Err(ParseError::new("quantity", "must be at least 1"));
        }
        if n > i64::from(Self::MAX) {
            return Err(ParseError::new(
                "quantity",
                format!("must be at most {}", Self::MAX),
            ));
        }
        Ok(Self(n as u32))
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightUnit {
    Lb,
    Oz,
    Kg,
    G,
}

impl WeightUnit {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw.to_ascii_lowercase().as_str() {
            "lb" | "lbs" => Ok(Self::Lb),
            "oz" => Ok(Self::Oz),
            "kg" => Ok(Self::Kg),
            "g" => Ok(Self::G),
            _ => Err(ParseError::new(
                "unit",
                "weight unit must be lb, oz, kg or g",
            )),
        }
    }
    pub fn grams_per_unit(self) -> f64 {
        match self {
            Self::Lb => 453.592_37,
            Self::Oz => 28.349_523_125,
            Self::Kg => 1000.0,
            Self::G => 1.0,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lb => "lb",
            Self::Oz => "oz",
            Self::Kg => "kg",
            Self::G => "g",
        }
    }
}

/// The weight of a packed box: strictly positive and at most 1,000 kg.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Weight {
    value: f64,
    unit: WeightUnit,
}

impl Weight {
    pub fn new(value: f64, unit: WeightUnit) -> Result<Self, ParseError> {
        if !value.is_finite() || value <= 0.0 {
            return Err(ParseError::new("weight", "must be a number greater than 0"));
        }
        if value * unit.grams_per_unit() > 1_000_000.0 {
            return Err(ParseError::new("weight", "must be at most 1000 kg"));
        }
        Ok(Self { value, unit })
    }
    pub fn value(self) -> f64 {
        self.value
    }
    pub fn unit(self) -> WeightUnit {
        self.unit
    }
    pub fn grams(self) -> f64 {
        self.value * self.unit.grams_per_unit()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DimensionUnit {
    In,
    Cm,
}

impl DimensionUnit {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw.to_ascii_lowercase().as_str() {
            "in" => Ok(Self::In),
            "cm" => Ok(Self::Cm),
            _ => Err(ParseError::new("unit", "dimension unit must be in or cm")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Cm => "cm",
        }
    }
}

/// A box's outside dimensions, each strictly positive and at most 300 (in or cm).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Dimensions {
    pub length: f64,
    pub width: f64,
    pub height: f64,
    pub unit: DimensionUnit,
}

impl Dimensions {
    pub fn new(
        length: f64,
        width: f64,
        height: f64,
        unit: DimensionUnit,
    ) -> Result<Self, ParseError> {
        for (name, v) in [("length", length), ("width", width), ("height", height)] {
            if !v.is_finite() || v <= 0.0 {
                return Err(ParseError::new(
                    "dimensions",
                    format!("{name} must be a number greater than 0"),
                ));
            }
            if v > 300.0 {
                return Err(ParseError::new(
                    "dimensions",
                    format!("{name} must be at most 300"),
                ));
            }
        }
        Ok(Self {
            length,
            width,
            height,
            unit,
        })
    }
}

/// A packed box ready for a label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Package {
    pub weight: Weight,
    pub dimensions: Option<Dimensions>,
    /// The box preset the packer chose, e.g. `S-10x8x4`.
    pub r#box: Option<String>,
}

/// The shipping services of the seed; the UPS codes are UPS's `Service.Code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ServiceCode {
    #[serde(rename = "ground")]
    Ground,
    #[serde(rename = "3day")]
    ThreeDay,
    #[serde(rename = "2day")]
    TwoDay,
    #[serde(rename = "next_day")]
    NextDay,
}

impl ServiceCode {
    pub const ALL: [ServiceCode; 4] = [Self::Ground, Self::ThreeDay, Self::TwoDay, Self::NextDay];

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                ParseError::new("service", "must be one of ground, 3day, 2day, next_day")
            })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ground => "ground",
            Self::ThreeDay => "3day",
            Self::TwoDay => "2day",
            Self::NextDay => "next_day",
        }
    }
    pub fn ups_code(self) -> &'static str {
        match self {
            Self::Ground => "03",
            Self::ThreeDay => "12",
            Self::TwoDay => "02",
            Self::NextDay => "01",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Ground => "UPS Ground",
            Self::ThreeDay => "UPS 3 Day Select",
            Self::TwoDay => "UPS 2nd Day Air",
            Self::NextDay => "UPS Next Day Air",
        }
    }
}

/// A UPS 1Z tracking number. The format is enforced; the check digit is reported by
/// [`TrackingNumber::check_digit_ok`] rather than enforced, because UPS's own test numbers
/// fail it (shared/notes/ups.md §7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrackingNumber(String);

impl TrackingNumber {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim().to_ascii_uppercase();
        let ok = s.len() == 18
            && s.starts_with("1Z")
            && s[2..]
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
            && s.as_bytes()[17].is_ascii_digit();
        if ok {
            Ok(Self(s))
        } else {
            Err(ParseError::new(
                "tracking_number",
                "a UPS tracking number is `1Z` followed by 16 letters or digits, the last a digit",
            ))
        }
    }
    /// The mod-10 check digit UPS computes over characters 3-17.
    pub fn expected_check_digit(body: &str) -> Option<u32> {
        if body.len() != 15 {
            return None;
        }
        let mut sum = 0;
        for (i, b) in body.bytes().enumerate() {
            let v = match b {
                b'0'..=b'9' => u32::from(b - b'0'),
                b'A'..=b'Z' => (u32::from(b) - 63) % 10,
                _ => return None,
            };
            sum += if i % 2 == 1 { 2 * v } else { v };
        }
        Some((10 - sum % 10) % 10)
    }
    pub fn check_digit_ok(&self) -> bool {
        let check = u32::from(self.0.as_bytes()[17] - b'0');
        Self::expected_check_digit(&self.0[2..17]) == Some(check)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TrackingNumber {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<TrackingNumber> for String {
    fn from(value: TrackingNumber) -> Self {
        value.0
    }
}

/// A warehouse location code such as `A-02-3`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Location(String);

impl Location {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        if s.is_empty() || s.len() > 32 || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(ParseError::new(
                "location",
                "must be 1-32 characters without spaces",
            ));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Location {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<Location> for String {
    fn from(value: Location) -> Self {
        value.0
    }
}

/// Compares location codes the way people read them: `A-2` before `A-10`.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let na = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let nb = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (da, db) = (&a[..na], &b[..nb]);
                let ta = trim_zeros(da);
                let tb = trim_zeros(db);
                let ord = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[na..];
                b = &b[nb..];
            }
            (Some(x), Some(y)) => {
                let ord = x.to_ascii_uppercase().cmp(&y.to_ascii_uppercase());
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let n = d.iter().take_while(|c| **c == b'0').count();
    &d[n..]
}

/// A role decides what a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Operator,
}

impl Role {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "admin" => Ok(Self::Admin),
            "operator" => Ok(Self::Operator),
            _ => Err(ParseError::new("role", "must be admin or operator")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Operator => "operator",
        }
    }
}

/// A login name: 1-64 characters, no spaces.
pub fn parse_username(raw: &str) -> Result<String, ParseError> {
    let s = raw.trim();
    if s.is_empty() || s.len() > 64 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ParseError::new(
            "username",
            "must be 1-64 characters without spaces",
        ));
    }
    Ok(s.to_owned())
}

/// A station (bench) name, e.g. `bench-1`.
pub fn parse_station_id(raw: &str) -> Result<String, ParseError> {
    let s = raw.trim();
    if s.is_empty()
        || s.len() > 64
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(ParseError::new(
            "station_id",
            "must be 1-64 letters, digits, `-`, `_` or `.`",
        ));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_made_later_sort_later_and_parse_back() {
        let first = OrderId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = OrderId::generate();
        assert!(first < second, "{first} then {second}");
        assert_eq!(first.as_str().len(), "ord_".len() + 16);
        assert_eq!(OrderId::parse(second.as_str()).unwrap(), second);
        // Within one millisecond the random part still tells them apart.
        let many: std::collections::HashSet<_> = (0..1000).map(|_| OrderId::generate()).collect();
        assert_eq!(many.len(), 1000);
    }

    #[test]
    fn upc_a_and_ean_13_with_leading_zero_are_the_same_product() {
        let upc = Gtin::parse("012345678905").unwrap();
        let ean = Gtin::parse("0012345678905").unwrap();
        let gtin14 = Gtin::parse("00012345678905").unwrap();
        assert_eq!(upc, ean);
        assert_eq!(ean, gtin14);
        assert_eq!(upc.as_str(), "00012345678905");
    }

    #[test]
    fn a_barcode_with_a_wrong_check_digit_is_refused() {
        assert!(Gtin::parse("012345678906").is_err());
        assert!(
            Gtin::parse("01234567890").is_err(),
            "11 digits is no GS1 length"
        );
        assert!(Gtin::parse("01234567890A").is_err());
        assert!(Gtin::parse("96385074").is_ok(), "a valid EAN-8");
    }

    #[test]
    fn tracking_numbers_report_their_check_digit() {
        let t = TrackingNumber::parse("1z999aa10123456784").unwrap();
        assert_eq!(t.as_str(), "1Z999AA10123456784");
        assert!(t.check_digit_ok());
        for good in [
            "1ZWA82900123277535",
            "1Z1486YY0110000297",
            "1Z023E2X0214323462",
        ] {
            assert!(
                TrackingNumber::parse(good).unwrap().check_digit_ok(),
                "{good}"
            );
        }
        assert!(
            !TrackingNumber::parse("1Z1111111111111111")
                .unwrap()
                .check_digit_ok()
        );
        assert!(
            TrackingNumber::parse("1Z999AA1012345678").is_err(),
            "17 chars"
        );
        assert!(TrackingNumber::parse("9Z999AA10123456784").is_err());
    }

    #[test]
    fn weights_must_be_positive_and_sane() {
        assert!(Weight::new(0.0, WeightUnit::Lb).is_err());
        assert!(Weight::new(-1.0, WeightUnit::Lb).is_err());
        assert!(Weight::new(f64::NAN, WeightUnit::Lb).is_err());
        assert!(Weight::new(2001.0, WeightUnit::Kg).is_err());
        let w = Weight::new(2.5, WeightUnit::Lb).unwrap();
        assert!((w.grams() - 1133.98).abs() < 0.01);
    }

    #[test]
    fn quantities_are_between_one_and_the_maximum() {
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(-3).is_err());
        assert!(Quantity::new(100_001).is_err());
        assert_eq!(Quantity::new(2).unwrap().get(), 2);
    }

    #[test]
    fn locations_sort_naturally() {
        let mut v = vec!["A-10", "B-1", "A-2", "A-02-3", "a-3", "A-1"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, vec!["A-1", "A-2", "A-02-3", "a-3", "A-10", "B-1"]);
    }

    #[test]
    fn ids_parse_with_their_prefix_only() {
        assert!(OrderId::parse("ord_abc123").is_ok());
        assert!(OrderId::parse("shp_abc123").is_err());
        assert!(OrderId::parse("ord_").is_err());
        assert!(OrderId::parse("ord_a b").is_err());
        let id = OrderId::generate();
        assert_eq!(OrderId::parse(id.as_str()).unwrap(), id);
    }

    #[test]
    fn skus_match_without_regard_to_case() {
        assert_eq!(
            Sku::parse("prod-001").unwrap(),
            Sku::parse("PROD-001").unwrap()
        );
        assert!(Sku::parse("  ").is_err());
        assert!(Sku::parse("A B").is_err());
    }

    #[test]
    fn services_map_to_ups_codes() {
        assert_eq!(ServiceCode::parse("ground").unwrap().ups_code(), "03");
        assert_eq!(ServiceCode::parse("3day").unwrap().ups_code(), "12");
        assert_eq!(ServiceCode::parse("2day").unwrap().ups_code(), "02");
        assert_eq!(ServiceCode::parse("next_day").unwrap().ups_code(), "01");
        assert!(ServiceCode::parse("overnight").is_err());
    }
}

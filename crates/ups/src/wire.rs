//! UPS's JSON as it really comes (shared/notes/ups.md §2, §4, §6): every number a string, any
//! one-element list possibly an object, fields missing more often than the spec admits. Only the
//! fields Packbench reads are typed; the rest is ignored.

use serde::{Deserialize, Deserializer};

/// A list that UPS may send as one bare object when it has one element.
#[derive(Debug, Clone, PartialEq)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shape<T> {
            Many(Vec<T>),
            One(T),
            // null, "" and other placeholders UPS sends for "none".
            #[allow(dead_code)]
            Nothing(serde::de::IgnoredAny),
        }
        Ok(match Shape::deserialize(d)? {
            Shape::Many(v) => Self(v),
            Shape::One(t) => Self(vec![t]),
            Shape::Nothing(_) => Self(Vec::new()),
        })
    }
}

impl<T> OneOrMany<T> {
    pub fn first(&self) -> Option<&T> {
        self.0.first()
    }
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }
}

// ---- OAuth ----

#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    /// Seconds, as a string ("14399"); tolerated as a number too.
    #[serde(deserialize_with = "string_or_number")]
    pub expires_in: u64,
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        S(String),
        N(u64),
    }
    match N::deserialize(d)? {
        N::N(n) => Ok(n),
        N::S(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

// ---- Errors ----

#[derive(Debug, Clone, Deserialize)]
pub struct ErrorBody {
    pub response: ErrorList,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ErrorList {
    #[serde(default)]
    pub errors: OneOrMany<ErrorItem>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ErrorItem {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

// ---- Common ----

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CodeDescription {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Money {
    #[serde(default)]
    pub currency_code: String,
    #[serde(default)]
    pub monetary_value: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResponseHead {
    #[serde(default)]
    pub response_status: CodeDescription,
    #[serde(default)]
    pub alert: OneOrMany<CodeDescription>,
}

// ---- Ship ----

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShipResponseWrapper {
    pub shipment_response: ShipmentResponse,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShipmentResponse {
    #[serde(default)]
    pub response: ResponseHead,
    pub shipment_results: ShipmentResults,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShipmentResults {
    pub shipment_identification_number: String,
    #[serde(default)]
    pub package_results: OneOrMany<PackageResult>,
    #[serde(default)]
    pub shipment_charges: Option<ShipmentCharges>,
    #[serde(default)]
    pub negotiated_rate_charges: Option<NegotiatedCharges>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShipmentCharges {
    pub total_charges: Option<Money>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NegotiatedCharges {
    /// Singular here, unlike the published `TotalCharges` (karrio #703).
    pub total_charge: Option<Money>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PackageResult {
    pub tracking_number: String,
    #[serde(default)]
    pub shipping_label: Option<ShippingLabel>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShippingLabel {
    pub image_format: CodeDescription,
    pub graphic_image: String,
}

// ---- Void ----

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VoidResponseWrapper {
    pub void_shipment_response: VoidShipmentResponse,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VoidShipmentResponse {
    pub summary_result: VoidSummary,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VoidSummary {
    pub status: CodeDescription,
}

// ---- Label recovery ----

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecoveryResponseWrapper {
    pub label_recovery_response: LabelRecoveryResponse,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LabelRecoveryResponse {
    pub label_results: OneOrMany<LabelResult>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LabelResult {
    pub tracking_number: String,
    pub label_image: LabelImage,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LabelImage {
    pub label_image_format: CodeDescription,
    pub graphic_image: String,
}

// ---- Tracking ----

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackResponseWrapper {
    pub track_response: TrackResponse,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TrackResponse {
    #[serde(default)]
    pub shipment: OneOrMany<TrackShipment>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackShipment {
    #[serde(default)]
    pub inquiry_number: String,
    #[serde(default)]
    pub package: OneOrMany<TrackPackage>,
    #[serde(default)]
    pub warnings: OneOrMany<ErrorItem>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackPackage {
    #[serde(default)]
    pub tracking_number: String,
    #[serde(default)]
    pub activity: OneOrMany<Activity>,
    #[serde(default)]
    pub current_status: Option<TrackStatus>,
    #[serde(default)]
    pub delivery_date: OneOrMany<DeliveryDate>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    #[serde(default)]
    pub location: Option<ActivityLocation>,
    #[serde(default)]
    pub status: TrackStatus,
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub time: String,
    #[serde(default)]
    pub gmt_date: Option<String>,
    #[serde(default)]
    pub gmt_time: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackStatus {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub status_code: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActivityLocation {
    #[serde(default)]
    pub address: Option<ActivityAddress>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityAddress {
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub state_province: Option<String>,
    #[serde(default)]
    pub country_code: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeliveryDate {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub date: String,
}

// ---- Rating ----

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RateResponseWrapper {
    pub rate_response: RateResponse,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RateResponse {
    #[serde(default)]
    pub rated_shipment: OneOrMany<RatedShipment>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RatedShipment {
    pub service: CodeDescription,
    #[serde(default)]
    pub total_charges: Option<Money>,
    #[serde(default)]
    pub negotiated_rate_charges: Option<NegotiatedCharges>,
    #[serde(default)]
    pub guaranteed_delivery: Option<GuaranteedDelivery>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GuaranteedDelivery {
    #[serde(default)]
    pub business_days_in_transit: Option<String>,
}

// ---- Address validation ----

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct XavResponseWrapper {
    #[serde(rename = "XAVResponse")]
    pub xav_response: XavResponse,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct XavResponse {
    /// These three are flags: present (usually as "") means true.
    #[serde(default)]
    pub valid_address_indicator: Option<serde_json::Value>,
    #[serde(default)]
    pub ambiguous_address_indicator: Option<serde_json::Value>,
    #[serde(default)]
    pub no_candidates_indicator: Option<serde_json::Value>,
    #[serde(default)]
    pub candidate: OneOrMany<XavCandidate>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct XavCandidate {
    pub address_key_format: XavAddress,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct XavAddress {
    #[serde(default)]
    pub address_line: OneOrMany<String>,
    #[serde(default)]
    pub political_division2: Option<String>,
    #[serde(default)]
    pub political_division1: Option<String>,
    #[serde(default)]
    pub postcode_primary_low: Option<String>,
    #[serde(default)]
    pub country_code: Option<String>,
}

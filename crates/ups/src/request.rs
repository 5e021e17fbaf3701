//! Request bodies, built from Packbench's own types. Every field is cut to UPS's maximum
//! length (shared/notes/ups.md §2: phones ≤ 15, names ≤ 35...) so a long customer name never
//! costs a refused label; the tests validate each body against the official schema.

use packbench_core::domain::{DimensionUnit, Package, ServiceCode, WeightUnit};
use packbench_core::model::{Address, LabelFormat};
use packbench_core::settings::Shipper;
use serde_json::{Value, json};

/// Who ships: the tenant's shipper settings and UPS account.
#[derive(Debug, Clone)]
pub struct ShipperAccount {
    pub number: String,
    pub shipper: Shipper,
}

/// One label to buy.
#[derive(Debug, Clone)]
pub struct ShipInput<'a> {
    pub account: &'a ShipperAccount,
    pub ship_to: &'a Address,
    pub service: ServiceCode,
    /// The boxes, at least one: one UPS shipment of as many packages, a label each.
    pub packages: &'a [&'a Package],
    /// Our shipment id: sent as CustomerContext and as the package reference, so a lost answer
    /// can be found again by reference.
    pub reference: &'a str,
    /// The order name (e.g. `#1001`), printed on the label as a second reference.
    pub order_name: Option<&'a str>,
    pub label_format: LabelFormat,
}

fn cut(s: &str, max: usize) -> String {
    s.trim().chars().take(max).collect()
}

/// UPS wants digits only, at most 15 of them.
pub fn phone(raw: &str) -> String {
    raw.chars().filter(char::is_ascii_digit).take(15).collect()
}

fn address_lines(lines: &[String]) -> Vec<String> {
    let v: Vec<String> = lines
        .iter()
        .map(|l| cut(l, 35))
        .filter(|l| !l.is_empty())
        .take(3)
        .collect();
    if v.is_empty() { vec![String::new()] } else { v }
}

fn ship_to_address(a: &Address) -> Value {
    let mut addr = json!({
        "AddressLine": address_lines(&a.lines),
        "City": cut(a.city.as_deref().unwrap_or(""), 30),
        "CountryCode": cut(a.country.as_deref().unwrap_or("US"), 2).to_uppercase(),
    });
    if let Some(s) = a.state.as_deref().filter(|s| !s.trim().is_empty()) {
        addr["StateProvinceCode"] = json!(cut(s, 5).to_uppercase());
    }
    if let Some(p) = a.postal_code.as_deref().filter(|s| !s.trim().is_empty()) {
        addr["PostalCode"] = json!(cut(&p.replace([' ', '-'], ""), 9));
    }
    addr
}

fn shipper_address(s: &Shipper) -> Value {
    ship_to_address(&Address {
        lines: s.address.lines.clone(),
        city: s.address.city.clone(),
        state: s.address.state.clone(),
        postal_code: s.address.postal_code.clone(),
        country: s.address.country.clone(),
        ..Address::default()
    })
}

fn shipper_party(account: &ShipperAccount) -> Value {
    let s = &account.shipper;
    let mut v = json!({
        "Name": cut(s.name.as_deref().unwrap_or(""), 35),
        "ShipperNumber": cut(&account.number, 6),
        "Address": shipper_address(s),
    });
    if let Some(a) = s.attention.as_deref() {
        v["AttentionName"] = json!(cut(a, 35));
    }
    if let Some(p) = s.phone.as_deref().map(phone).filter(|p| !p.is_empty()) {
        v["Phone"] = json!({"Number": p});
    }
    if let Some(e) = s.email.as_deref() {
        v["EMailAddress"] = json!(cut(e, 50));
    }
    v
}

fn ship_to_party(a: &Address) -> Value {
    let name = a
        .company
        .as_deref()
        .or(a.name.as_deref())
        .unwrap_or("Customer");
    let mut v = json!({"Name": cut(name, 35), "Address": ship_to_address(a)});
    if let Some(n) = a.name.as_deref() {
        v["AttentionName"] = json!(cut(n, 35));
    }
    if let Some(p) = a.phone.as_deref().map(phone).filter(|p| !p.is_empty()) {
        v["Phone"] = json!({"Number": p});
    }
    v
}

/// UPS takes LBS or KGS with one decimal (at least 0.1).
pub fn package_weight(p: &Package) -> (&'static str, String) {
    let w = p.weight;
    let (code, value) = match w.unit() {
        WeightUnit::Kg | WeightUnit::G => ("KGS", w.grams() / 1000.0),
        WeightUnit::Lb | WeightUnit::Oz => ("LBS", w.grams() / 453.592_37),
    };
    let tenths = (value * 10.0).ceil().max(1.0) / 10.0;
    (code, format!("{tenths:.1}"))
}

fn package(p: &Package, references: &[&str]) -> Value {
    let (unit, weight) = package_weight(p);
    let mut v = json!({
        "Packaging": {"Code": "02", "Description": "Customer Supplied Package"},
        "PackageWeight": {
            "UnitOfMeasurement": {"Code": unit, "Description": if unit == "KGS" { "Kilograms" } else { "Pounds" }},
            "Weight": weight,
        },
    });
    if let Some(d) = &p.dimensions {
        let (code, name) = match d.unit {
            DimensionUnit::In => ("IN", "Inches"),
            DimensionUnit::Cm => ("CM", "Centimeters"),
        };
        // Whole units, rounded up: the schema allows 3 characters.
        let n = |x: f64| format!("{}", x.ceil().clamp(1.0, 999.0) as u32);
        v["Dimensions"] = json!({
            "UnitOfMeasurement": {"Code": code, "Description": name},
            "Length": n(d.length), "Width": n(d.width), "Height": n(d.height),
        });
    }
    if !references.is_empty() {
        v["ReferenceNumber"] = references
            .iter()
            .map(|r| json!({"Value": cut(r, 35)}))
            .collect();
    }
    v
}

pub fn label_code(format: LabelFormat) -> &'static str {
    match format {
        LabelFormat::Zpl => "ZPL",
        LabelFormat::Png => "PNG",
        LabelFormat::Gif | LabelFormat::Pdf => "GIF",
    }
}

/// The Shipping v2409 ship request.
pub fn ship(input: &ShipInput<'_>) -> Value {
    let mut refs = vec![input.reference];
    if let Some(name) = input.order_name {
        refs.push(name);
    }
    let mut label = json!({
        "LabelImageFormat": {"Code": label_code(input.label_format)},
        "LabelStockSize": {"Height": "6", "Width": "4"},
    });
    if label_code(input.label_format) == "GIF" {
        label["HTTPUserAgent"] = json!("Mozilla/4.5");
    }
    json!({"ShipmentRequest": {
        "Request": {
            "RequestOption": "nonvalidate",
            "TransactionReference": {"CustomerContext": input.reference},
        },
        "Shipment": {
            "Description": cut(input.order_name.unwrap_or("Merchandise"), 50),
            "Shipper": shipper_party(input.account),
            "ShipFrom": {
                "Name": cut(input.account.shipper.name.as_deref().unwrap_or(""), 35),
                "Address": shipper_address(&input.account.shipper),
            },
            "ShipTo": ship_to_party(input.ship_to),
            "PaymentInformation": {"ShipmentCharge": [{
                "Type": "01",
                "BillShipper": {"AccountNumber": cut(&input.account.number, 6)},
            }]},
            "Service": {"Code": input.service.ups_code(), "Description": input.service.name()},
            "Package": input.packages.iter().map(|p| package(p, &refs)).collect::<Vec<_>>(),
        },
        "LabelSpecification": label,
    }})
}

/// A label recovery request for one small-package tracking number.
pub fn recovery(tracking_number: &str, format: &str) -> Value {
    json!({"LabelRecoveryRequest": {
        "Request": {"RequestOption": "Non_Validate"},
        "LabelSpecification": {
            "LabelImageFormat": {"Code": format},
            "LabelStockSize": {"Height": "6", "Width": "4"},
            "HTTPUserAgent": "Mozilla/4.5",
        },
        "TrackingNumber": tracking_number.trim(),
    }})
}

/// A Rating `Shop` request: every service's price for this package.
pub fn rate_shop(account: &ShipperAccount, ship_to: &Address, p: &Package) -> Value {
    // Rating's parties have no phone or e-mail. `RequestOption` is required by the schema
    // (though undescribed there); it repeats the path's option.
    json!({"RateRequest": {
        "Request": {"RequestOption": "Shop", "TransactionReference": {"CustomerContext": "rate"}},
        "Shipment": {
            "Shipper": {
                "Name": cut(account.shipper.name.as_deref().unwrap_or(""), 35),
                "ShipperNumber": cut(&account.number, 6),
                "Address": shipper_address(&account.shipper),
            },
            "ShipFrom": {
                "Name": cut(account.shipper.name.as_deref().unwrap_or(""), 35),
                "Address": shipper_address(&account.shipper),
            },
            "ShipTo": {
                "Name": cut(ship_to.name.as_deref().unwrap_or("Customer"), 35),
                "Address": ship_to_address(ship_to),
            },
            "PaymentDetails": {"ShipmentCharge": [{
                "Type": "01",
                "BillShipper": {"AccountNumber": cut(&account.number, 6)},
            }]},
            "Package": [rate_package(p)],
            "DeliveryTimeInformation": {"PackageBillType": "03"},
        },
    }})
}

fn rate_package(p: &Package) -> Value {
    let mut v = package(p, &[]);
    // Rating calls the packaging field `PackagingType`.
    if let Some(packaging) = v.as_object_mut().and_then(|o| o.remove("Packaging")) {
        v["PackagingType"] = packaging;
    }
    v
}

/// A street-level Address Validation request.
pub fn validate_address(a: &Address) -> Value {
    let mut k = json!({
        "AddressLine": address_lines(&a.lines),
        "PoliticalDivision2": cut(a.city.as_deref().unwrap_or(""), 30),
        "CountryCode": cut(a.country.as_deref().unwrap_or("US"), 2).to_uppercase(),
    });
    if let Some(s) = a.state.as_deref() {
        k["PoliticalDivision1"] = json!(cut(s, 5).to_uppercase());
    }
    if let Some(p) = a.postal_code.as_deref() {
        let p = p.replace([' '], "");
        let (low, ext) = p.split_once('-').unwrap_or((&p, ""));
        k["PostcodePrimaryLow"] = json!(cut(low, 10));
        if !ext.is_empty() {
            k["PostcodeExtendedLow"] = json!(cut(ext, 10));
        }
    }
    json!({"XAVRequest": {"AddressKeyFormat": k}})
}

//! A station's device settings: which scale, printers and scanner it uses and how labels are
//! printed there. Kept as the JSON document the station reads, checked field by field before
//! it is kept, so a typo never silently turns a station's scale off.

use serde_json::{Map, Value};

/// What is wrong with a device settings document: the field, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSettingsError {
    pub field: String,
    pub message: String,
}

fn err(field: &str, message: impl Into<String>) -> DeviceSettingsError {
    DeviceSettingsError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Device names as the Devices screen and `packbench-device list` give them.
const DEVICE_PREFIXES: [&str; 6] = ["sim:", "hid:", "usb:", "serial:", "tcp://", "spool:"];

fn device(field: &str, v: &Value) -> Result<(), DeviceSettingsError> {
    match v {
        Value::Null => Ok(()),
        Value::String(s) if s.len() <= 300 && DEVICE_PREFIXES.iter().any(|p| s.starts_with(p)) => {
            Ok(())
        }
        _ => Err(err(
            field,
            format!(
                "{field} is a device as the Devices screen names it ({}…), or null for none",
                DEVICE_PREFIXES.join(", ")
            ),
        )),
    }
}

/// Checks a device settings document; answers the first problem.
pub fn check_device_settings(doc: &Map<String, Value>) -> Result<(), DeviceSettingsError> {
    for (key, v) in doc {
        match key.as_str() {
            "scale" | "printer" | "slip_printer" | "scanner" => device(key, v)?,
            "label_format" => {
                if !matches!(v.as_str(), Some("zpl" | "png" | "pdf")) {
                    return Err(err(key, "label_format is zpl, png or pdf"));
                }
            }
            "dpi" => {
                if !matches!(v.as_u64(), Some(203 | 300)) {
                    return Err(err(
                        key,
                        "dpi is 203 or 300 (the printer head's resolution)",
                    ));
                }
            }
            "darkness" => {
                if !(v.is_null() || v.as_u64().is_some_and(|d| d <= 30)) {
                    return Err(err(
                        key,
                        "darkness is a whole number from 0 to 30, or null for the printer's own",
                    ));
                }
            }
            "auto_print" | "label_to_box" => {
                if !v.is_boolean() {
                    return Err(err(key, format!("{key} is true or false")));
                }
            }
            "boxes" => {
                let boxes = v
                    .as_array()
                    .filter(|b| b.len() <= 30)
                    .ok_or_else(|| err(key, "boxes is a list of at most 30 boxes"))?;
                for (i, b) in boxes.iter().enumerate() {
                    let field = format!("boxes[{i}]");
                    let b = b.as_object().ok_or_else(|| {
                        err(&field, "a box is {name, length, width, height, tare}")
                    })?;
                    if let Some(k) = b.keys().find(|k| {
                        !["name", "length", "width", "height", "tare"].contains(&k.as_str())
                    }) {
                        return Err(err(
                            &format!("{field}.{k}"),
                            "a box has name, length, width, height and tare only",
                        ));
                    }
                    if let Some(t) = b.get("tare")
                        && !t.is_null()
                        && !t.as_f64().is_some_and(|t| (0.0..=100.0).contains(&t))
                    {
                        return Err(err(
                            &format!("{field}.tare"),
                            "tare is the empty box's weight, from 0 to 100 in the warehouse's weight unit",
                        ));
                    }
                    let name = b.get("name").and_then(Value::as_str).unwrap_or("");
                    if name.trim().is_empty() || name.len() > 40 {
                        return Err(err(
                            &format!("{field}.name"),
                            "a box needs a name of at most 40 characters",
                        ));
                    }
                    for d in ["length", "width", "height"] {
                        let ok = b
                            .get(d)
                            .and_then(Value::as_f64)
                            .is_some_and(|x| x > 0.0 && x <= 200.0);
                        if !ok {
                            return Err(err(
                                &format!("{field}.{d}"),
                                format!("{d} is a number above 0 and at most 200 (inches)"),
                            ));
                        }
                    }
                }
            }
            _ => {
                return Err(err(
                    key,
                    format!(
                        "unknown device setting `{key}` (scale, printer, slip_printer, scanner, label_format, dpi, darkness, auto_print, label_to_box, boxes)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Result<(), DeviceSettingsError> {
        check_device_settings(v.as_object().unwrap())
    }

    #[test]
    fn a_full_station_is_accepted() {
        assert_eq!(
            check(
                json!({"scale": "hid:/dev/hidraw3", "printer": "usb:0a5f:0166", "slip_printer": "spool:Laser",
                "scanner": null, "label_format": "zpl", "dpi": 300, "darkness": 20, "auto_print": true,
                "label_to_box": true, "boxes": [{"name": "S", "length": 8, "width": 6, "height": 4, "tare": 0.3}]})
            ),
            Ok(())
        );
        assert_eq!(check(json!({})), Ok(()));
    }

    #[test]
    fn each_mistake_names_its_field() {
        for (doc, field) in [
            (json!({"scale": "dymo"}), "scale"),
            (json!({"printer": 7}), "printer"),
            (json!({"label_format": "gif"}), "label_format"),
            (json!({"dpi": 600}), "dpi"),
            (json!({"label_to_box": "yes"}), "label_to_box"),
            (json!({"darkness": 31}), "darkness"),
            (json!({"auto_print": "yes"}), "auto_print"),
            (json!({"boxes": {}}), "boxes"),
            (
                json!({"boxes": [{"name": "", "length": 1, "width": 1, "height": 1}]}),
                "boxes[0].name",
            ),
            (
                json!({"boxes": [{"name": "S", "length": 0, "width": 1, "height": 1}]}),
                "boxes[0].length",
            ),
            (
                json!({"boxes": [{"name": "S", "length": 1, "width": 1, "height": 1, "weight": 2}]}),
                "boxes[0].weight",
            ),
            (
                json!({"boxes": [{"name": "S", "length": 1, "width": 1, "height": 1, "tare": -1}]}),
                "boxes[0].tare",
            ),
            (json!({"label_printer": "tcp://x"}), "label_printer"),
        ] {
            assert_eq!(check(doc.clone()).unwrap_err().field, field, "{doc}");
        }
    }
}

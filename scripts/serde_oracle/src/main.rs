// serde_oracle: the JSON stage of safetensors' read_metadata (from_utf8 +
// serde_json::from_str::<HashMetadata>), types copied from safetensors
// src/tensor.rs. Input: records of u32 LE length + bytes on stdin.
// Output: one line per record: ERR <msg> or OK <canonical form>.
use serde::Deserialize;
use std::collections::HashMap;
use std::io::{Read, Write};

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Ord, PartialOrd)]
#[allow(non_camel_case_types)]
pub enum Dtype {
    BOOL, F4, F6_E2M3, F6_E3M2, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ,
    I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64,
}

#[derive(Debug, Deserialize, Clone)]
pub struct TensorInfo {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub data_offsets: (usize, usize),
}

#[derive(Debug, Deserialize)]
struct HashMetadata {
    #[serde(rename = "__metadata__")]
    metadata: Option<HashMap<String, String>>,
    #[serde(flatten)]
    tensors: HashMap<String, TensorInfo>,
}

fn hex(s: &str) -> String { s.bytes().map(|b| format!("{:02x}", b)).collect() }

fn main() {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).unwrap();
    let mut out = std::io::BufWriter::new(std::io::stdout());
    let mut i = 0;
    while i + 4 <= input.len() {
        let n = u32::from_le_bytes(input[i..i + 4].try_into().unwrap()) as usize;
        let rec = &input[i + 4..i + 4 + n];
        i += 4 + n;
        let line = match std::str::from_utf8(rec) {
            Err(_) => "ERR utf8".to_string(),
            Ok(s) => match serde_json::from_str::<HashMetadata>(s) {
                Err(e) => format!("ERR {}", e.to_string().replace('\n', " ")),
                Ok(h) => {
                    let mut names: Vec<_> = h.tensors.keys().cloned().collect();
                    names.sort();
                    let mut s = String::from("OK");
                    for k in names {
                        let t = &h.tensors[&k];
                        s += &format!(" {}:{:?}{:?}[{},{}]", hex(&k), t.dtype, t.shape, t.data_offsets.0, t.data_offsets.1);
                    }
                    match h.metadata {
                        None => s += " meta:none",
                        Some(m) => {
                            let mut ks: Vec<_> = m.keys().cloned().collect();
                            ks.sort();
                            s += " meta:{";
                            for k in ks { s += &format!("{}={};", hex(&k), hex(&m[&k])); }
                            s += "}";
                        }
                    }
                    s
                }
            },
        };
        writeln!(out, "{}", line).unwrap();
    }
}

//! The Factur-X part of the PDF metadata. A Factur-X reader finds the attached XML through
//! the `fx:` properties in the document's XMP packet (file name, document type, version,
//! conformance level), and PDF/A requires every such custom namespace to be described in the
//! packet's `pdfaExtension:schemas`. `krilla` writes the packet but takes no custom
//! properties, so [`add_metadata`] appends a new version of the metadata stream to the
//! finished PDF as an incremental update (ISO 32000 §7.5.6: the new object, an xref section
//! for it and a trailer pointing back with `/Prev`) — the bytes `krilla` wrote stay as they
//! are.

/// The Factur-X XMP namespace (version 1.0, also ZUGFeRD 2.x).
const FX_NAMESPACE: &str = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#";

/// The `fx:` properties. Factur-X names every invoice type (380, 381, …) `INVOICE`.
fn fx_properties() -> String {
    format!(
        "<rdf:Description rdf:about=\"\" xmlns:fx=\"{FX_NAMESPACE}\">\
         <fx:DocumentType>INVOICE</fx:DocumentType>\
         <fx:DocumentFileName>{}</fx:DocumentFileName>\
         <fx:Version>1.0</fx:Version>\
         <fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>\
         </rdf:Description>",
        super::FACTUR_X_FILE_NAME
    )
}

/// The PDF/A description of the `fx:` namespace (an entry of `pdfaExtension:schemas`).
fn fx_schema() -> String {
    let property = |name: &str, description: &str| {
        format!(
            "<rdf:li rdf:parseType=\"Resource\"><pdfaProperty:name>{name}</pdfaProperty:name>\
             <pdfaProperty:valueType>Text</pdfaProperty:valueType>\
             <pdfaProperty:category>external</pdfaProperty:category>\
             <pdfaProperty:description>{description}</pdfaProperty:description></rdf:li>"
        )
    };
    format!(
        "<rdf:li rdf:parseType=\"Resource\">\
         <pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>\
         <pdfaSchema:namespaceURI>{FX_NAMESPACE}</pdfaSchema:namespaceURI>\
         <pdfaSchema:prefix>fx</pdfaSchema:prefix>\
         <pdfaSchema:property><rdf:Seq>{}{}{}{}</rdf:Seq></pdfaSchema:property></rdf:li>",
        property("DocumentFileName", "The name of the embedded XML document"),
        property("DocumentType", "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER"),
        property("Version", "The actual version of the standard applying to the embedded XML document"),
        property("ConformanceLevel", "The conformance level of the embedded XML document"),
    )
}

/// The XMP packet `xmp` with the Factur-X properties and their schema description.
fn with_factur_x(xmp: &str) -> Result<String, String> {
    const BAG_END: &str = "</rdf:Bag></pdfaExtension:schemas>";
    let mut out = xmp.to_string();
    match out.find(BAG_END) {
        Some(i) => out.insert_str(i, &fx_schema()),
        None => {
            let i = out.rfind("</rdf:RDF>").ok_or("the XMP packet has no rdf:RDF")?;
            out.insert_str(
                i,
                &format!(
                    "<rdf:Description rdf:about=\"\" \
                     xmlns:pdfaExtension=\"http://www.aiim.org/pdfa/ns/extension/\" \
                     xmlns:pdfaSchema=\"http://www.aiim.org/pdfa/ns/schema#\" \
                     xmlns:pdfaProperty=\"http://www.aiim.org/pdfa/ns/property#\">\
                     <pdfaExtension:schemas><rdf:Bag>{}{BAG_END}</rdf:Description>",
                    fx_schema()
                ),
            );
        }
    }
    let i = out.rfind("</rdf:RDF>").ok_or("the XMP packet has no rdf:RDF")?;
    out.insert_str(i, &fx_properties());
    Ok(out)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// The object number in `… /Key 25 0 R …` after `at`.
fn reference_after(pdf: &[u8], at: usize) -> Option<u32> {
    let digits: String =
        pdf[at..].iter().skip_while(|b| **b == b' ').take_while(|b| b.is_ascii_digit()).map(|b| *b as char).collect();
    digits.parse().ok()
}

/// `pdf` (as `krilla` writes it: classic xref table, uncompressed metadata stream) with the
/// Factur-X properties added to its XMP metadata by an incremental update.
pub(super) fn add_metadata(mut pdf: Vec<u8>) -> Result<Vec<u8>, String> {
    let catalog = find(&pdf, b"/Type/Catalog").ok_or("no document catalog")?;
    let catalog_end = catalog + find(&pdf[catalog..], b"endobj").ok_or("unterminated catalog")?;
    let key = catalog + find(&pdf[catalog..catalog_end], b"/Metadata").ok_or("the catalog has no /Metadata")?;
    let number = reference_after(&pdf, key + b"/Metadata".len()).ok_or("unreadable /Metadata reference")?;

    let header = format!("\n{number} 0 obj\n");
    let object = find(&pdf, header.as_bytes()).ok_or("metadata object not found")?;
    let start = object + find(&pdf[object..], b"<?xpacket").ok_or("no XMP packet")?;
    let end = start + find(&pdf[start..], b"<?xpacket end").ok_or("unterminated XMP packet")?;
    let end = end + find(&pdf[end..], b"?>").ok_or("unterminated XMP packet")? + 2;
    let xmp = std::str::from_utf8(&pdf[start..end]).map_err(|_| "the XMP packet is not UTF-8")?;
    let xmp = with_factur_x(xmp)?;

    let trailer = rfind(&pdf, b"trailer").ok_or("no trailer")?;
    let dict_start = trailer + find(&pdf[trailer..], b"<<").ok_or("no trailer dictionary")? + 2;
    let startxref = rfind(&pdf, b"startxref").ok_or("no startxref")?;
    let dict_end = rfind(&pdf[..startxref], b">>").ok_or("no trailer dictionary")?;
    let dict = String::from_utf8_lossy(&pdf[dict_start..dict_end]).into_owned();
    let previous = reference_after(&pdf, startxref + b"startxref".len() + 1).ok_or("unreadable startxref")?;

    if !pdf.ends_with(b"\n") {
        pdf.push(b'\n');
    }
    let offset = pdf.len();
    pdf.extend_from_slice(
        format!("{number} 0 obj\n<</Length {}/Type/Metadata/Subtype/XML>>\nstream\n", xmp.len()).as_bytes(),
    );
    pdf.extend_from_slice(xmp.as_bytes());
    pdf.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!(
            "xref\n{number} 1\n{offset:010} 00000 n\r\ntrailer\n<<{dict}/Prev {previous}>>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    Ok(pdf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_factur_x_schema_joins_the_existing_extension_schemas_and_the_properties_follow() {
        let xmp = "<?xpacket begin=\"\"?><x:xmpmeta><rdf:RDF><rdf:Description rdf:about=\"\">\
                   <pdfaExtension:schemas><rdf:Bag><rdf:li>a</rdf:li></rdf:Bag></pdfaExtension:schemas>\
                   </rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"r\"?>";
        let out = with_factur_x(xmp).unwrap();
        assert_eq!(out.matches("<pdfaExtension:schemas>").count(), 1);
        let schema = out.find("<pdfaSchema:prefix>fx</pdfaSchema:prefix>").unwrap();
        assert!(schema < out.find("</rdf:Bag>").unwrap());
        assert!(out.contains("<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>"));
        assert!(out.contains("<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>"));
        assert!(out.find("<fx:DocumentType>").unwrap() < out.find("</rdf:RDF>").unwrap());
    }

    #[test]
    fn without_extension_schemas_a_description_with_them_is_added() {
        let xmp = "<?xpacket begin=\"\"?><x:xmpmeta><rdf:RDF><rdf:Description rdf:about=\"\"/></rdf:RDF>\
                   </x:xmpmeta><?xpacket end=\"r\"?>";
        let out = with_factur_x(xmp).unwrap();
        assert_eq!(out.matches("<pdfaExtension:schemas><rdf:Bag>").count(), 1);
        assert!(out.contains("<fx:DocumentType>INVOICE</fx:DocumentType>"));
    }

    #[test]
    fn a_pdf_without_metadata_is_refused() {
        let pdf = b"%PDF-1.7\n1 0 obj\n<</Type/Catalog/Pages 2 0 R>>\nendobj\n".to_vec();
        assert_eq!(add_metadata(pdf).unwrap_err(), "the catalog has no /Metadata");
    }
}

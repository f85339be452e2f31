//! The printed documents, as PDF/A-3b (ISO 19005-3, level B) with embedded fonts:
//! [`render`] the invoice or credit note a customer reads (a draft with an "ENTWURF"
//! watermark and no number), [`render_factur_x`] the same PDF with its EN 16931 CII XML
//! attached as `factur-x.xml` (Factur-X 1.0 / ZUGFeRD 2.x, profile EN 16931) — one file a
//! person reads and an accounting system imports — and [`render_service_report`], the proof
//! of service a customer signs; [`render_report`] prints a status or project report.
//!
//! [`invoice`] and [`proof`] decide where everything goes (DIN 5008), [`layout`] measures and
//! wraps text into a display list, this module draws the list with `krilla` and [`facturx`]
//! adds the Factur-X metadata.

mod facturx;
mod german;
mod invoice;
mod layout;
mod proof;
mod report;

pub use proof::{ReportBooking, ReportExpense, ReportNote, ReportTotals, ServiceReport, Settled};

use std::sync::OnceLock;

use krilla::configure::{Archival, Configuration, ConfigurationBuilder};
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::geom::{PathBuilder, Point, Size, Transform};
use krilla::image::Image;
use krilla::metadata::{DateTime, Metadata};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use krilla::SerializeSettings;
use krilla_svg::{SurfaceExt, SvgSettings};
use time::Date;

use crate::{Document, DocumentError, DocumentKind, Logo, LogoFormat, VatCategory};
use layout::{text_width, Align, Op, Sheet, Weight, PAGE_HEIGHT, PAGE_WIDTH};

/// The name the CII XML has inside a Factur-X PDF.
pub const FACTUR_X_FILE_NAME: &str = "factur-x.xml";

/// Renders `doc` as a PDF/A-3b invoice or credit note. With `draft` the document has no
/// number yet: the number reads "Entwurf", every page carries a watermark, and what an issued
/// invoice must state is not required.
///
/// # Errors
/// [`DocumentError::Missing`] with what an issued invoice must state (§ 14 (4) UStG) and
/// `doc` lacks; [`DocumentError::Inconsistent`] when the lines, VAT breakdown and totals do
/// not add up; [`DocumentError::Render`] when the PDF cannot be written.
pub fn render(doc: &Document, draft: bool) -> Result<Vec<u8>, DocumentError> {
    let missing = if draft { Vec::new() } else { missing_for_print(doc) };
    if !missing.is_empty() {
        return Err(DocumentError::Missing(missing));
    }
    crate::figures::check_figures(doc, true)?;
    write_pdf(doc, draft, None)
}

/// Names (as the API spells them, like [`crate::cii::render`]'s) of what an issued invoice
/// must state (§ 14 (4) UStG) that `doc` lacks: the number, both parties' full name and
/// address, the seller's VAT id or tax number, the buyer's VAT id under reverse charge, and
/// the corrected invoice of a credit note.
fn missing_for_print(doc: &Document) -> Vec<String> {
    let blank = |s: &str| s.trim().is_empty();
    let blank_opt = |s: &Option<String>| s.as_deref().is_none_or(blank);
    let (s, b) = (&doc.seller, &doc.buyer);
    [
        (blank(&doc.number), "number"),
        (blank(&s.name), "seller.legal_name"),
        (blank_opt(&s.address.postal_code), "seller.postal_code"),
        (blank_opt(&s.address.city), "seller.city"),
        (blank_opt(&s.vat_id) && blank_opt(&s.tax_number), "seller.vat_id"),
        (blank(&b.name), "buyer.legal_name"),
        (blank_opt(&b.address.postal_code), "buyer.postal_code"),
        (blank_opt(&b.address.city), "buyer.city"),
        (blank(&b.address.country), "buyer.country"),
        (doc.vat_category == VatCategory::ReverseCharge && blank_opt(&b.vat_id), "buyer.vat_id"),
        (doc.kind == DocumentKind::CreditNote && doc.preceding.is_none(), "preceding_invoice"),
    ]
    .into_iter()
    .filter(|(missing, _)| *missing)
    .map(|(_, name)| name.to_string())
    .collect()
}

/// Renders `doc` as a Factur-X / ZUGFeRD PDF: the PDF of [`render`] with the EN 16931 CII XML
/// of the same document embedded as [`FACTUR_X_FILE_NAME`] (relationship `Alternative`) and
/// the Factur-X XMP metadata (conformance level `EN 16931`).
///
/// # Errors
/// As [`crate::cii::render`] (what the XML requires), and [`DocumentError::Render`].
pub fn render_factur_x(doc: &Document) -> Result<Vec<u8>, DocumentError> {
    let xml = crate::cii::render_as(doc, crate::cii::EN_16931)?;
    let pdf = write_pdf(doc, false, Some(xml.into_bytes()))?;
    facturx::add_metadata(pdf).map_err(DocumentError::Render)
}

/// Renders a proof of service (Leistungsnachweis) as a PDF/A-3b the customer signs.
///
/// # Errors
/// [`DocumentError::Render`] when the PDF cannot be written.
pub fn render_service_report(report: &ServiceReport) -> Result<Vec<u8>, DocumentError> {
    let sheet = proof::typeset(report);
    let title = format!("Leistungsnachweis {}", report.subject);
    let about = About {
        title: &title,
        author: &report.seller.name,
        document_id: "",
        date: report.printed_on,
        language: "de-DE",
    };
    finish(&sheet, about, None, report.logo.as_ref())
}

/// Renders a printed report (status or project report) as a PDF/A-3b.
///
/// # Errors
/// [`DocumentError::Render`] when the PDF cannot be written.
pub fn render_report(r: &crate::report::PrintedReport) -> Result<Vec<u8>, DocumentError> {
    let sheet = report::typeset(r);
    let language = if r.english() { "en-GB" } else { "de-DE" };
    let about = About { title: &r.title, author: &r.issuer, document_id: "", date: r.printed_on, language };
    finish(&sheet, about, None, None)
}

/// The largest logo accepted, in pixels per side.
const MAX_LOGO_PIXELS: u32 = 4000;

/// A logo ready to draw: a bitmap or a vector drawing.
enum LogoDrawing {
    Bitmap(Image),
    Vector(Box<usvg::Tree>),
}

impl LogoDrawing {
    /// Width and height in pixels (bitmaps) or SVG user units.
    fn size(&self) -> (f32, f32) {
        match self {
            LogoDrawing::Bitmap(image) => (image.size().0 as f32, image.size().1 as f32),
            LogoDrawing::Vector(tree) => (tree.size().width(), tree.size().height()),
        }
    }
}

/// Reads an SVG without touching files or the network (only `data:` images inside it), its
/// text set in the vendored fonts.
fn svg_tree(data: &[u8]) -> Result<usvg::Tree, String> {
    static FONTS: OnceLock<std::sync::Arc<usvg::fontdb::Database>> = OnceLock::new();
    let fontdb = FONTS.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(layout::REGULAR_TTF.to_vec());
        db.load_font_data(layout::BOLD_TTF.to_vec());
        // Every generic family is the one font there is.
        db.set_serif_family("DejaVu Sans");
        db.set_sans_serif_family("DejaVu Sans");
        db.set_monospace_family("DejaVu Sans");
        db.set_cursive_family("DejaVu Sans");
        db.set_fantasy_family("DejaVu Sans");
        std::sync::Arc::new(db)
    });
    let options = usvg::Options {
        font_family: "DejaVu Sans".into(),
        fontdb: fontdb.clone(),
        image_href_resolver: usvg::ImageHrefResolver {
            resolve_data: usvg::ImageHrefResolver::default_data_resolver(),
            resolve_string: Box::new(|_, _| None),
        },
        ..usvg::Options::default()
    };
    usvg::Tree::from_data(data, &options).map_err(|e| e.to_string())
}

fn logo_drawing(logo: &Logo) -> Result<LogoDrawing, String> {
    let data: krilla::Data = logo.data.clone().into();
    match logo.format {
        LogoFormat::Png => Image::from_png(data, false).map(LogoDrawing::Bitmap),
        LogoFormat::Jpeg => Image::from_jpeg(data, false).map(LogoDrawing::Bitmap),
        LogoFormat::Svg => svg_tree(&logo.data).map(|t| LogoDrawing::Vector(Box::new(t))),
    }
}

/// The size of a logo that can be printed (pixels or SVG units).
fn logo_size(logo: &Logo) -> Option<(f32, f32)> {
    logo_drawing(logo).ok().map(|d| d.size()).filter(|(w, h)| *w > 0.0 && *h > 0.0)
}

/// Checks that `logo` can be printed: a PNG or JPEG that decodes completely, at most 4000
/// pixels per side, or an SVG that parses, and that PDF/A accepts. Its size (pixels or SVG
/// units), or why not.
///
/// # Errors
/// A message saying what is wrong with the image.
pub fn check_logo(logo: &Logo) -> Result<(u32, u32), String> {
    let drawing = logo_drawing(logo).map_err(|e| format!("not a readable image: {e}"))?;
    let (w, h) = drawing.size();
    let (w, h) = (w.round() as u32, h.round() as u32);
    if w == 0 || h == 0 {
        return Err("an image without size".into());
    }
    if matches!(drawing, LogoDrawing::Bitmap(_)) && (w > MAX_LOGO_PIXELS || h > MAX_LOGO_PIXELS) {
        return Err(format!("{w} × {h} pixels: at most {MAX_LOGO_PIXELS} per side"));
    }
    // Decoding is deferred to writing: write a page with the logo alone.
    let mut sheet = Sheet::default();
    sheet.page().push(Op::Logo { x: 0.0, y: 0.0, width: 100.0, height: 100.0 });
    let settings = SerializeSettings { configuration: configuration(), enable_tagging: false, ..Default::default() };
    let mut pdf = krilla::Document::new_with(settings);
    pdf.set_metadata(Metadata::new().title("Logo".into()).creation_date(DateTime::new(2026)));
    draw(&mut pdf, &sheet, Some(logo));
    pdf.finish().map(|_| (w, h)).map_err(|e| match e {
        krilla::error::KrillaError::Image(_, _, message) => format!("not a readable image: {message}"),
        krilla::error::KrillaError::SixteenBitImage(..) => "16 bits per channel: PDF/A allows at most 8".into(),
        krilla::error::KrillaError::Validation(v) => format!("not allowed in PDF/A: {v:?}"),
        other => format!("cannot be printed: {other:?}"),
    })
}

fn pdf_date(d: Date) -> DateTime {
    DateTime::new(d.year() as u16).month(u8::from(d.month())).day(d.day()).hour(0).minute(0).second(0)
}

fn configuration() -> Configuration {
    ConfigurationBuilder::new()
        .with_archival_validator(Archival::A3_B)
        .finish()
        .expect("PDF/A-3b is a valid configuration")
}

/// The two fonts, parsed once.
fn fonts() -> &'static (Font, Font) {
    static FONTS: OnceLock<(Font, Font)> = OnceLock::new();
    FONTS.get_or_init(|| {
        let font = |data: &'static [u8]| Font::new(data.into(), 0).expect("the vendored font parses");
        (font(layout::REGULAR_TTF), font(layout::BOLD_TTF))
    })
}

fn write_pdf(doc: &Document, draft: bool, attachment: Option<Vec<u8>>) -> Result<Vec<u8>, DocumentError> {
    let sheet = invoice::typeset(doc, draft);
    let title = invoice::title(doc, draft);
    let about = About {
        title: &title,
        author: &doc.seller.name,
        document_id: &doc.uuid,
        date: doc.issue_date,
        language: "de-DE",
    };
    finish(&sheet, about, attachment, doc.logo.as_ref())
}

/// A PDF's metadata.
struct About<'a> {
    title: &'a str,
    author: &'a str,
    document_id: &'a str,
    date: Date,
    /// e.g. `de-DE`.
    language: &'a str,
}

/// Draws `sheet` into a PDF/A-3b with its metadata (dated `date`, so the same content gives
/// the same bytes) and the attachment, if any, as [`FACTUR_X_FILE_NAME`].
fn finish(
    sheet: &Sheet,
    about: About<'_>,
    attachment: Option<Vec<u8>>,
    logo: Option<&Logo>,
) -> Result<Vec<u8>, DocumentError> {
    let settings = SerializeSettings { configuration: configuration(), enable_tagging: false, ..Default::default() };
    let mut pdf = krilla::Document::new_with(settings);
    let date = pdf_date(about.date);
    pdf.set_metadata(
        Metadata::new()
            .title(about.title.into())
            .authors(vec![about.author.into()])
            .creator("Kontor".into())
            .producer("Kontor (krilla)".into())
            .language(about.language.into())
            .document_id(about.document_id.into())
            .creation_date(date),
    );
    if let Some(xml) = attachment {
        pdf.embed_file(EmbeddedFile {
            path: FACTUR_X_FILE_NAME.into(),
            mime_type: MimeType::new("text/xml"),
            description: Some("Factur-X invoice (EN 16931, UN/CEFACT CII)".into()),
            association_kind: AssociationKind::Alternative,
            data: xml.into(),
            modification_date: Some(date),
            compress: Some(true),
            location: None,
        })
        .ok_or_else(|| DocumentError::Render("the file cannot be attached".into()))?;
    }
    draw(&mut pdf, sheet, logo);
    pdf.finish().map_err(|e| DocumentError::Render(format!("{e:?}")))
}

/// Draws every page of `sheet` (with `logo` where it places one).
fn draw(pdf: &mut krilla::Document, sheet: &Sheet, logo: Option<&Logo>) {
    let logo = logo.and_then(|l| logo_drawing(l).ok());
    let (regular, bold) = fonts();
    let total = sheet.pages.len();
    for (index, ops) in sheet.pages.iter().enumerate() {
        let mut page = pdf.start_page_with(PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).expect("A4 is a size"));
        let mut surface = page.surface();
        for op in ops {
            match op {
                Op::Text { x, y, size, weight, align, text } => {
                    let font = if *weight == Weight::Bold { bold } else { regular };
                    let text = layout::printable(text, *weight);
                    let x = match align {
                        Align::Left => *x,
                        Align::Right => x - text_width(&text, *weight, *size),
                    };
                    surface.draw_text(Point::from_xy(x, *y), font.clone(), *size, &text, false, TextDirection::Auto);
                }
                Op::Rule { x1, y1, x2, y2, width } => {
                    let mut path = PathBuilder::new();
                    path.move_to(*x1, *y1);
                    path.line_to(*x2, *y2);
                    if let Some(path) = path.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke { width: *width, ..Default::default() }));
                        surface.draw_path(&path);
                        surface.set_stroke(None);
                        surface.set_fill(Some(Fill::default()));
                    }
                }
                Op::PageNumber { x, y, size, words: (page, of) } => {
                    let text = format!("{page} {} {of} {total}", index + 1);
                    let x = x - text_width(&text, Weight::Regular, *size);
                    surface.draw_text(Point::from_xy(x, *y), regular.clone(), *size, &text, false, TextDirection::Auto);
                }
                Op::Logo { x, y, width, height } => {
                    if let (Some(drawing), Some(size)) = (&logo, Size::from_wh(*width, *height)) {
                        surface.push_transform(&Transform::from_translate(*x, *y));
                        match drawing {
                            LogoDrawing::Bitmap(image) => surface.draw_image(image.clone(), size),
                            LogoDrawing::Vector(tree) => {
                                let settings = SvgSettings { embed_text: false, ..SvgSettings::default() };
                                surface.draw_svg(tree, size, settings);
                            }
                        }
                        surface.pop();
                    }
                }
                Op::Watermark(text) => {
                    let size = 96.0;
                    let width = text_width(text, Weight::Bold, size);
                    let (cx, cy) = (PAGE_WIDTH / 2.0, PAGE_HEIGHT / 2.0);
                    surface.push_transform(&Transform::from_rotate_at(-55.0, cx, cy));
                    surface.set_fill(Some(Fill {
                        paint: krilla::color::rgb::Color::new(215, 215, 215).into(),
                        ..Default::default()
                    }));
                    let start = Point::from_xy(cx - width / 2.0, cy + size * 0.35);
                    surface.draw_text(start, bold.clone(), size, text, false, TextDirection::Auto);
                    surface.set_fill(Some(Fill::default()));
                    surface.pop();
                }
            }
        }
        surface.finish();
        page.finish();
    }
}

//! The query language of content search and its translation to tantivy: words (stemmed, all must
//! match somewhere: title, properties, parent path or body), `"exact phrases"` and `prefix*`.
//! Titles weigh most, then properties, then the body, then the parent path; BM25 ranks within.

use super::engine::Fields;
use tantivy::Term;
use tantivy::query::{
    BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;

/// Longest query accepted (characters).
const MAX_CHARS: usize = 500;
/// Most words or phrases in one query.
const MAX_CLAUSES: usize = 24;

/// One part of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    Word(String),
    Phrase(String),
    Prefix(String),
}

/// Why a query cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query has no words to look for")]
    Empty,
    #[error("the query is longer than {MAX_CHARS} characters; send fewer words")]
    TooLong,
    #[error("the query has more than {MAX_CLAUSES} words or phrases; send fewer")]
    TooMany,
    #[error("'{0}*' is too short a prefix: give at least 2 letters before *")]
    ShortPrefix(String),
}

/// Split a query into words, `"phrases"` and `prefixes*`. An unclosed quote runs to the end.
pub fn parse(text: &str) -> Result<Vec<Clause>, QueryError> {
    if text.chars().count() > MAX_CHARS {
        return Err(QueryError::TooLong);
    }
    let mut clauses = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('"') {
            let end = after.find('"').unwrap_or(after.len());
            let phrase = after[..end].trim();
            if !phrase.is_empty() {
                clauses.push(Clause::Phrase(phrase.to_owned()));
            }
            rest = after.get(end + 1..).unwrap_or("").trim_start();
            continue;
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '"')
            .unwrap_or(rest.len());
        let word = &rest[..end];
        rest = rest[end..].trim_start();
        if let Some(prefix) = word.strip_suffix('*') {
            let prefix = prefix.trim_end_matches('*');
            if prefix.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
                return Err(QueryError::ShortPrefix(prefix.to_owned()));
            }
            clauses.push(Clause::Prefix(prefix.to_lowercase()));
        } else if word.chars().any(char::is_alphanumeric) {
            clauses.push(Clause::Word(word.to_owned()));
        }
    }
    if clauses.is_empty() {
        return Err(QueryError::Empty);
    }
    if clauses.len() > MAX_CLAUSES {
        return Err(QueryError::TooMany);
    }
    Ok(clauses)
}

/// The searched text fields with their weights.
fn weighted(fields: &Fields) -> [(Field, f32); 4] {
    [
        (fields.title, 3.0),
        (fields.properties, 1.5),
        (fields.body, 1.0),
        (fields.path, 0.5),
    ]
}

fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// The text query: every clause must match in one of the fields. `None` when a clause has no
/// indexable token (only punctuation).
pub fn build(
    clauses: &[Clause],
    fields: &Fields,
    analyzer: &TextAnalyzer,
) -> Option<Box<dyn Query>> {
    let mut analyzer = analyzer.clone();
    let mut musts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for clause in clauses {
        let mut shoulds: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, boost) in weighted(fields) {
            let query: Box<dyn Query> = match clause {
                Clause::Prefix(prefix) => Box::new(FuzzyTermQuery::new_prefix(
                    Term::from_field_text(field, prefix),
                    0,
                    false,
                )),
                Clause::Word(text) | Clause::Phrase(text) => {
                    let words = tokens(&mut analyzer, text);
                    match words.len() {
                        0 => continue,
                        1 => Box::new(TermQuery::new(
                            Term::from_field_text(field, &words[0]),
                            IndexRecordOption::WithFreqsAndPositions,
                        )),
                        _ => Box::new(PhraseQuery::new(
                            words
                                .iter()
                                .map(|w| Term::from_field_text(field, w))
                                .collect(),
                        )),
                    }
                }
            };
            shoulds.push((Occur::Should, Box::new(BoostQuery::new(query, boost))));
        }
        if shoulds.is_empty() {
            return None;
        }
        musts.push((Occur::Must, Box::new(BooleanQuery::new(shoulds))));
    }
    Some(Box::new(BooleanQuery::new(musts)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_phrases_and_prefixes() {
        assert_eq!(
            parse(r#"budget "quarterly plan" rev* "#),
            Ok(vec![
                Clause::Word("budget".into()),
                Clause::Phrase("quarterly plan".into()),
                Clause::Prefix("rev".into()),
            ])
        );
        assert_eq!(
            parse(r#""open ended"#),
            Ok(vec![Clause::Phrase("open ended".into())])
        );
        assert_eq!(parse("  -- "), Err(QueryError::Empty));
        assert_eq!(parse("a*"), Err(QueryError::ShortPrefix("a".into())));
        assert_eq!(parse(&"x ".repeat(300)), Err(QueryError::TooLong));
        assert_eq!(parse(&"ab ".repeat(30)), Err(QueryError::TooMany));
    }
}

//! Code-block languages: Markdown fence info strings mapped to the language names Notion accepts.

/// Every language Notion's code block accepts.
const NOTION_LANGUAGES: &[&str] = &[
    "abap",
    "abc",
    "agda",
    "arduino",
    "ascii art",
    "assembly",
    "bash",
    "basic",
    "bnf",
    "c",
    "c#",
    "c++",
    "clojure",
    "coffeescript",
    "coq",
    "css",
    "dart",
    "dhall",
    "diff",
    "docker",
    "ebnf",
    "elixir",
    "elm",
    "erlang",
    "f#",
    "flow",
    "fortran",
    "gherkin",
    "glsl",
    "go",
    "graphql",
    "groovy",
    "haskell",
    "hcl",
    "html",
    "idris",
    "java",
    "javascript",
    "json",
    "julia",
    "kotlin",
    "latex",
    "less",
    "lisp",
    "livescript",
    "llvm ir",
    "lua",
    "makefile",
    "markdown",
    "markup",
    "matlab",
    "mathematica",
    "mermaid",
    "nix",
    "notion formula",
    "objective-c",
    "ocaml",
    "pascal",
    "perl",
    "php",
    "plain text",
    "powershell",
    "prolog",
    "protobuf",
    "purescript",
    "python",
    "r",
    "racket",
    "reason",
    "ruby",
    "rust",
    "sass",
    "scala",
    "scheme",
    "scss",
    "shell",
    "smalltalk",
    "solidity",
    "sql",
    "swift",
    "toml",
    "typescript",
    "vb.net",
    "verilog",
    "vhdl",
    "visual basic",
    "webassembly",
    "xml",
    "yaml",
    "java/c/c++/c#",
];

/// Common fence names that differ from Notion's.
const ALIASES: &[(&str, &str)] = &[
    ("js", "javascript"),
    ("jsx", "javascript"),
    ("mjs", "javascript"),
    ("cjs", "javascript"),
    ("node", "javascript"),
    ("ts", "typescript"),
    ("tsx", "typescript"),
    ("py", "python"),
    ("python3", "python"),
    ("rs", "rust"),
    ("sh", "shell"),
    ("zsh", "shell"),
    ("fish", "shell"),
    ("console", "shell"),
    ("shell-session", "shell"),
    ("yml", "yaml"),
    ("md", "markdown"),
    ("cpp", "c++"),
    ("cxx", "c++"),
    ("cc", "c++"),
    ("hpp", "c++"),
    ("h", "c"),
    ("cs", "c#"),
    ("csharp", "c#"),
    ("fs", "f#"),
    ("fsharp", "f#"),
    ("dockerfile", "docker"),
    ("golang", "go"),
    ("kt", "kotlin"),
    ("kts", "kotlin"),
    ("rb", "ruby"),
    ("ps1", "powershell"),
    ("pwsh", "powershell"),
    ("ps", "powershell"),
    ("tex", "latex"),
    ("text", "plain text"),
    ("txt", "plain text"),
    ("plaintext", "plain text"),
    ("plain", "plain text"),
    ("objc", "objective-c"),
    ("objectivec", "objective-c"),
    ("proto", "protobuf"),
    ("hs", "haskell"),
    ("ex", "elixir"),
    ("exs", "elixir"),
    ("erl", "erlang"),
    ("clj", "clojure"),
    ("cljs", "clojure"),
    ("ml", "ocaml"),
    ("jl", "julia"),
    ("wasm", "webassembly"),
    ("wat", "webassembly"),
    ("vb", "visual basic"),
    ("vbnet", "vb.net"),
    ("make", "makefile"),
    ("mk", "makefile"),
    ("gql", "graphql"),
    ("tf", "hcl"),
    ("terraform", "hcl"),
    ("htm", "html"),
    ("xhtml", "html"),
    ("svg", "xml"),
    ("scm", "scheme"),
    ("pl", "perl"),
    ("asm", "assembly"),
    ("nasm", "assembly"),
    ("patch", "diff"),
    ("jsonc", "json"),
    ("json5", "json"),
    ("sol", "solidity"),
    ("rkt", "racket"),
    ("psql", "sql"),
    ("mysql", "sql"),
    ("postgresql", "sql"),
    ("sqlite", "sql"),
    ("coffee", "coffeescript"),
    ("ino", "arduino"),
    ("feature", "gherkin"),
    ("ls", "livescript"),
    ("llvm", "llvm ir"),
    ("matlab/octave", "matlab"),
    ("octave", "matlab"),
    ("wl", "mathematica"),
    ("sass", "sass"),
];

/// The Notion language for a fence info string; unknown or empty → `"plain text"`.
///
/// The whole info string is tried first (Notion has multi-word names such as `plain text` and
/// `visual basic`), then its first word; matching ignores case.
pub(super) fn notion_language(info: &str) -> &'static str {
    let info = info.trim().to_lowercase();
    let first = info.split_whitespace().next().unwrap_or("");
    for candidate in [info.as_str(), first] {
        let candidate = candidate.trim_start_matches('.');
        if let Some(l) = NOTION_LANGUAGES.iter().find(|l| **l == candidate) {
            return l;
        }
        if let Some((_, l)) = ALIASES.iter().find(|(a, _)| *a == candidate) {
            return l;
        }
    }
    "plain text"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_and_aliases() {
        assert_eq!(notion_language("rust"), "rust");
        assert_eq!(notion_language("RS"), "rust");
        assert_eq!(notion_language("ts {linenos}"), "typescript");
        assert_eq!(notion_language("plain text"), "plain text");
        assert_eq!(notion_language("visual basic"), "visual basic");
        assert_eq!(notion_language("c++"), "c++");
        assert_eq!(notion_language("cpp"), "c++");
        assert_eq!(notion_language("brainfuck"), "plain text");
        assert_eq!(notion_language(""), "plain text");
        assert_eq!(notion_language("java/c/c++/c#"), "java/c/c++/c#");
    }
}

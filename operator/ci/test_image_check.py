"""Tests of image_check.py: Docker's ignore rules as applied here, and how the Dockerfile is replayed.

Run by check-image.sh: python operator/ci/test_image_check.py (with its venv).
"""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import image_check  # noqa: E402

image_check.QUIET = True

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def context_of(patterns, files):
    return set(image_check.build_context("/unused", patterns, files))


class DockerIgnoreRules(unittest.TestCase):
    """Docker's documented semantics: last match wins, a directory pattern covers everything below it,
    `*` does not cross `/`, `**` does, trailing slashes and leading `/` do not matter."""

    files = ["Cargo.toml", "README.md", "src/main.rs", "src/gen/a.tmp", "docs/x.md", "a/target/x",
             "target/debug/y", "nested/deep/target/z", "keep/me.txt", "keep/not.log"]

    def test_star_then_exceptions(self):
        self.assertEqual(context_of(["*", "!Cargo.toml", "!src/"], self.files),
                         {"Cargo.toml", "src/main.rs", "src/gen/a.tmp"})

    def test_exclusion_after_exception_wins(self):
        self.assertEqual(context_of(["*", "!src/", "src/**/*.tmp"], self.files), {"src/main.rs"})

    def test_double_star_crosses_directories(self):
        self.assertEqual(context_of(["**/target/"], self.files),
                         set(self.files) - {"a/target/x", "target/debug/y", "nested/deep/target/z"})

    def test_double_star_at_any_depth(self):
        # The Docker SDK for Python keeps the last two (it checks only one parent directory); Docker does not.
        self.assertEqual(context_of(["*", "!nested/", "!target/", "**/target/"], self.files), set())
        self.assertEqual(context_of(["nested/**"], self.files), set(self.files) - {"nested/deep/target/z"})

    def test_classes_and_question_mark(self):
        self.assertEqual(context_of(["[A-Z]*", "src/ma?n.rs"], self.files),
                         set(self.files) - {"Cargo.toml", "README.md", "src/main.rs"})
        self.assertEqual(context_of(["[^C]*.*"], ["Cargo.toml", "README.md", "x"]), {"Cargo.toml", "x"})

    def test_literal_dots_and_escapes(self):
        self.assertEqual(context_of(["Cargo.toml"], ["Cargo.toml", "CargoXtoml"]), {"CargoXtoml"})
        self.assertEqual(context_of(["a\\*b"], ["a*b", "axb"]), {"axb"})

    def test_single_star_stays_in_one_directory(self):
        self.assertEqual(context_of(["*/target"], self.files), set(self.files) - {"a/target/x"})

    def test_leading_slash_and_comments_are_ignored(self):
        with tempfile.TemporaryDirectory() as root:
            with open(os.path.join(root, ".dockerignore"), "w") as f:
                f.write("# comment\n\n/docs/\n  keep/*.log  \n")
            patterns = image_check.dockerignore_patterns(root)
        self.assertEqual(patterns, ["docs", "keep/*.log"])
        self.assertEqual(context_of(patterns, self.files), set(self.files) - {"docs/x.md", "keep/not.log"})

    def test_this_repository(self):
        context = set(image_check.build_context(ROOT, image_check.dockerignore_patterns(ROOT),
                                                image_check.work_tree_files(ROOT)))
        for wanted in ["Cargo.toml", "Cargo.lock", "server/Cargo.toml", "operator/Cargo.toml", "bench/Cargo.toml",
                       "deploy/monitoring/rules.yaml", "deploy/monitoring/dashboard.json"]:
            self.assertTrue(wanted in context, f"{wanted} is not in the build context")
        for unwanted in ["README.md", "Dockerfile", ".woodpecker.yml", "docs/deploy.md", "kustomize/base/crd.yaml",
                         "fuzz/Cargo.toml", "deploy/monitoring/check.sh"]:
            self.assertFalse(unwanted in context, f"{unwanted} is in the build context")
        self.assertFalse([f for f in context if f.startswith("operator/tests/snapshots/")])
        self.assertFalse([f for f in context if "/target/" in f or f.startswith("target/")])


class Replay(unittest.TestCase):
    def run_dockerfile(self, text, context, files=None):
        with tempfile.TemporaryDirectory() as root:
            for f in files or context:
                os.makedirs(os.path.dirname(os.path.join(root, f)) or root, exist_ok=True)
                with open(os.path.join(root, f), "w") as out:
                    out.write(f)
            with open(os.path.join(root, "Dockerfile"), "w") as out:
                out.write(text)
            args, stages = image_check.parse_dockerfile(os.path.join(root, "Dockerfile"))
            work = os.path.join(root, "work")
            image_check.replay(root, work, args, stages, context, os.path.join(work, "tools"), sources_only=False)
            return stages

    def test_copy_layout(self):
        stages = self.run_dockerfile(
            "ARG DIR=/app\nFROM scratch AS a\nWORKDIR ${DIR}\nCOPY . .\nCOPY src/ lib/\nCOPY [\"Cargo.toml\", \"x\"]\n"
            "FROM scratch\nCOPY --from=a /app/src/main.rs /app/x /usr/bin/\n",
            ["Cargo.toml", "src/main.rs"])
        self.assertEqual(sorted(stages[0].files), ["/app/Cargo.toml", "/app/lib/main.rs", "/app/src/main.rs", "/app/x"])
        self.assertEqual(sorted(stages[1].files), ["/usr/bin/main.rs", "/usr/bin/x"])

    def test_source_left_out_by_dockerignore(self):
        with self.assertRaisesRegex(image_check.CheckError, "'bench' is not in the build context"):
            self.run_dockerfile("FROM scratch\nCOPY bench /bench\n", ["Cargo.toml"], ["Cargo.toml", "bench/a"])

    def test_copy_from_a_file_the_stage_does_not_produce(self):
        with self.assertRaisesRegex(image_check.CheckError, "stage a does not produce it"):
            self.run_dockerfile("FROM scratch AS a\nCOPY Cargo.toml /x\nFROM scratch\nCOPY --from=a /y /\n",
                                ["Cargo.toml"])

    def test_unknown_run_is_refused(self):
        with self.assertRaisesRegex(image_check.CheckError, "does not know how to replay `apt-get update`"):
            self.run_dockerfile("FROM debian AS a\nRUN apt-get update\n", [])

    def test_unpinned_cargo_chef_is_refused(self):
        with self.assertRaisesRegex(image_check.CheckError, "pin cargo-chef"):
            self.run_dockerfile("FROM rust AS a\nRUN cargo install cargo-chef\n", [])

    def test_included_files_must_be_in_the_context(self):
        with tempfile.TemporaryDirectory() as root:
            files = {"op/src/a.rs": 'const R: &str = include_str!("../../deploy/r.yaml");\n'
                                    'const B: &[u8] = include_bytes!( "b.bin" );\n',
                     "op/src/b.bin": "", "op/target/x.rs": 'include_str!("gone")'}
            for name, text in files.items():
                os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
                with open(os.path.join(root, name), "w") as out:
                    out.write(text)
            self.assertEqual(image_check.missing_includes(root), ["deploy/r.yaml"])
            os.makedirs(os.path.join(root, "deploy"))
            open(os.path.join(root, "deploy/r.yaml"), "w").close()
            self.assertEqual(image_check.missing_includes(root), [])

    def test_this_dockerfile_parses(self):
        args, stages = image_check.parse_dockerfile(os.path.join(ROOT, "Dockerfile"))
        self.assertIn("RUST_VERSION", args)
        self.assertEqual([s.name for s in stages[:3]], ["chef", "planner", "builder"])
        self.assertIs(stages[2].base, stages[0])


if __name__ == "__main__":
    unittest.main()

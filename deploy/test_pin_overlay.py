"""Unit tests of pin_overlay.py (run by deploy/test-bump-deployments.sh: python deploy/test_pin_overlay.py)."""

import os
import sys
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pin_overlay  # noqa: E402

BASE = "https://github.com/notion-mcp-remote/notion-mcp-remote//kustomize/base"
IMAGE = "ghcr.io/notion-mcp-remote/notion-mcp-remote"
OLD, NEW = "1" * 40, "0123456789abcdef0123456789abcdef01234567"

OVERLAY = textwrap.dedent(f"""\
    # comment kept
    resources:
      - {BASE}?ref={OLD}&timeout=90s   # trailing comment kept
      - https://github.com/other/service//deploy/base?ref=v1.2.3
      - instance.yaml
    images:
      - name: other/image
        newTag: v9
      - name: {IMAGE}
        newName: harbor.example.com/notion-mcp/notion-mcp-remote
        newTag: "{OLD}"
    """)


def pin(text, **kw):
    args = dict(base=BASE, ref=NEW, image=IMAGE, tag=NEW)
    args.update(kw)
    return pin_overlay.pin(text, **args)


class Pin(unittest.TestCase):
    def test_only_the_two_values_change(self):
        out = pin(OVERLAY)
        self.assertEqual(out, OVERLAY.replace(f"ref={OLD}", f"ref={NEW}").replace(f'newTag: "{OLD}"', f'newTag: "{NEW}"'))

    def test_idempotent(self):
        once = pin(OVERLAY)
        self.assertEqual(pin(once), once)

    def test_new_name_is_set(self):
        out = pin(OVERLAY, new_name="registry.local/nmr")
        self.assertIn("newName: \"registry.local/nmr\"", out)
        self.assertIn("newName: harbor.example.com", OVERLAY)

    def test_missing_keys_are_added_to_the_entry(self):
        text = f"resources:\n- {BASE}\nimages:\n- name: {IMAGE}\n  newName: x/y\n- name: other\n"
        out = pin(text)
        self.assertEqual(out, f"resources:\n- {BASE}?ref={NEW}\nimages:\n- name: {IMAGE}\n  newName: x/y\n"
                              f"  newTag: \"{NEW}\"\n- name: other\n")

    def test_legacy_version_parameter(self):
        self.assertEqual(pin_overlay.with_ref(f"{BASE}?version=v1&timeout=9s", NEW), f"{BASE}?version={NEW}&timeout=9s")

    def test_quoted_url_keeps_its_quotes(self):
        out = pin(OVERLAY.replace(f"{BASE}?ref={OLD}&timeout=90s", f"'{BASE}?ref={OLD}'"))
        self.assertIn(f"'{BASE}?ref={NEW}'", out)

    def test_numeric_looking_tags_stay_strings(self):
        out = pin(OVERLAY.replace(f'"{OLD}"', "12345"), tag="1234567890" * 4)
        self.assertIn('newTag: "' + "1234567890" * 4 + '"', out)

    def test_errors(self):
        cases = [
            (OVERLAY.replace(BASE, BASE + "x"), "expected exactly one resource"),
            (OVERLAY + f"  - name: {IMAGE}\n", "expected exactly one images entry"),
            (OVERLAY.replace(f'newTag: "{OLD}"', "digest: sha256:00"), "pins a digest"),
            (f"resources: [{BASE}]\nimages: [{{name: {IMAGE}}}]\n", "flow style"),
            ("a: 1\n---\nb: 2\n", "one YAML document"),
            ("images: []\n", "no resources list"),
        ]
        for text, message in cases:
            with self.subTest(message=message), self.assertRaisesRegex(pin_overlay.PinError, message):
                pin(text)
        with self.assertRaisesRegex(pin_overlay.PinError, "full 40-character"):
            pin(OVERLAY, ref="894fc72")


if __name__ == "__main__":
    unittest.main()

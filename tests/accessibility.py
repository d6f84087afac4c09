"""axe-core (npm) over every page the browser tests load: each new browser context gets axe as an
init script (injected by the browser, so the app's Content-Security-Policy stays as it is) and runs
it at each page's load event against WCAG 2.2 A and AA; what it finds fails the test that loaded
the page (tests/conftest.py). A page left before its check finished is not counted as checked:
the run's summary says how many page loads were checked."""
from dataclasses import dataclass, field

from workflows.platform import config

AXE = config.PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]

_RUN_AT_LOAD = """
(() => {
  if (window.top !== window || !document.contentType.includes("html")) { return; }
  window.addEventListener("load", () => setTimeout(() => {
    axe.run(document, {runOnly: {type: "tag", values: %s}, resultTypes: ["violations"]}).then((result) => {
      window.__axeFound(location.pathname + location.search, result.violations.map((v) => ({
        id: v.id, help: v.help, where: v.nodes.slice(0, 3).map((n) => n.target.join(" ") + ": " + n.html.slice(0, 120)),
      })));
    }, () => {});
  }, 0));
})();
"""


@dataclass
class Findings:
    checked: int = 0  # page loads checked over the whole run
    violations: list = field(default_factory=list)  # this test's: (page, rule, help, where)

    def found(self, source, page, violations):
        self.checked += 1
        for v in violations:
            self.violations.append((page, v["id"], v["help"], v["where"]))

    def report(self) -> str:
        return "\n".join(f"{page}: {rule} ({help_}) at {'; '.join(where)}"
                         for page, rule, help_, where in self.violations)


FINDINGS = Findings()


def audited(browser):
    """The browser, each new context of it checking every page it loads."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `make install` (npm ci installs axe-core)")
    script = AXE.read_text() + _RUN_AT_LOAD % WCAG_AA
    plain_new_context = browser.new_context

    def new_context(**options):
        context = plain_new_context(**options)
        context.expose_binding("__axeFound", FINDINGS.found)
        context.add_init_script(script=script)
        return context

    browser.new_context = new_context
    return browser

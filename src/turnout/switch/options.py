"""What a team declares about one switch: its first state, who a user is, and how answers are compared."""

from __future__ import annotations

from dataclasses import dataclass, field

from turnout.switch.canary import Sticky
from turnout.switch.compare import CompareRules
from turnout.switch.health import Thresholds
from turnout.switch.state import NEW, Setting

NOISE_SAMPLE = 0.1
FIRST_NOISE_SAMPLES = 5


@dataclass(frozen=True, slots=True)
class SwitchOptions:
    """The options of one switch, from `[[switch]]` in `turnout.toml` or `Turnout.configure_switch`.

    - `setting`: the state at start-up (`new`, like the routing table's precedence);
    - `sticky`: how a canary knows a user (`Sticky()`: turnout's own cookie);
    - `idempotent`: shadow every method, not only GET, HEAD and OPTIONS: only for routes whose
      writes may safely happen twice;
    - `ignore_fields`, `ignore_headers`: what a comparison leaves out (`"generated_at"`,
      `"$.items[*].id"`; `"etag"`);
    - `noise_sample`: the share of shadowed requests also sent to the legacy side a second time,
      to learn which fields differ from one legacy answer to the next (the first few always are);
    - `rollback`: when the route goes back to the legacy side by itself.
    """

    setting: Setting = NEW
    sticky: Sticky = field(default_factory=Sticky)
    idempotent: bool = False
    ignore_fields: tuple[str, ...] = ()
    ignore_headers: tuple[str, ...] = ()
    noise_sample: float = NOISE_SAMPLE
    rollback: Thresholds = field(default_factory=Thresholds)
    rules: CompareRules = field(init=False, repr=False, compare=False)
    """The compiled comparison rules: a bad ignore pattern fails here, where the options are written."""

    def __post_init__(self) -> None:
        if not 0 <= self.noise_sample <= 1:
            raise ValueError(f"noise_sample is a share between 0 and 1, not {self.noise_sample!r}")
        rules = CompareRules.build(ignore_fields=self.ignore_fields, ignore_headers=self.ignore_headers)
        object.__setattr__(self, "rules", rules)

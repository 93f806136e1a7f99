"""Claims the text's prose makes about the numbers, checked against the exact gradients.

``nonzero_gradients = 11`` says 11 parameters receive a nonzero gradient;
``zero_gradients.W2 = 8`` says 8 entries of W2 receive none. A claim the file lists under
``[errata]`` is a known mistake of the text: it is reported, and fails only if it turns
out to hold after all.
"""
from dataclasses import dataclass

from reference.exercise import Exercise


@dataclass(frozen=True)
class ClaimCheck:
    """One claim: as stated, the exact count, and whether the file marks it an erratum."""
    claim: str
    stated: int
    exact: int
    erratum: bool
    counts: dict[str, tuple[int, int]]  # parameter -> (nonzero, total), for the message

    @property
    def holds(self) -> bool:
        return self.stated == self.exact

    @property
    def ok(self) -> bool:
        """A claim agrees when it holds, an erratum when it does not."""
        return self.holds != self.erratum

    @property
    def message(self) -> str:
        """One line for the report."""
        kind, _, parameter = self.claim.partition(".")
        what = "receive a nonzero gradient" if kind == "nonzero_gradients" else "receive no gradient"
        scope = f" of {parameter}" if parameter else ""
        detail = ", ".join(f"{p} {n}/{t}" for p, (n, t) in self.counts.items())
        said = f"The text says {self.stated} parameters{scope} {what}"
        if self.holds and not self.erratum:
            return f"{said}: confirmed."
        if self.holds:
            return f"{said}: listed as an erratum, but it holds ({self.exact}): remove it from [errata]."
        tag = "known erratum" if self.erratum else "WRONG"
        return f"{said}, but exactly {self.exact} do ({detail}): {tag}."


def check_claims(exercise: Exercise, exact_gradients: dict) -> list[ClaimCheck]:
    """Every claim of ``exercise`` against ``exact_gradients`` (``{"W1": array, ...}``,
    exact values, the text's ReLU'(0) = 0)."""
    counts = {}
    for parameter, gradient in exact_gradients.items():
        flat = list(gradient.reshape(-1))
        counts[parameter] = (sum(g != 0 for g in flat), len(flat))
    checks = []
    for claim, stated in exercise.claims.items():
        kind, _, parameter = claim.partition(".")
        scope = {parameter: counts[parameter]} if parameter else counts
        nonzero = sum(n for n, _ in scope.values())
        exact = nonzero if kind == "nonzero_gradients" else sum(t for _, t in scope.values()) - nonzero
        checks.append(ClaimCheck(claim, stated, exact, claim in exercise.errata, scope))
    return checks

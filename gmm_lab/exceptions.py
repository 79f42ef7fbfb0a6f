"""The warnings and errors gmm_lab raises (importable from ``gmm_lab`` too)."""

from __future__ import annotations

__all__ = ["CollapsedComponentWarning", "RegularizationWarning", "SingularCovarianceError"]


class CollapsedComponentWarning(UserWarning):
    """A component shrank onto (nearly) a point or a line; reg_covar keeps it alive."""


class RegularizationWarning(UserWarning):
    """reg_covar is not small next to the data's own variance: it shapes every covariance."""


class SingularCovarianceError(ValueError):
    """A covariance matrix is not positive definite, so it has no Cholesky factor."""

    @classmethod
    def for_component(cls, component: int, where: str = "") -> "SingularCovarianceError":
        """The error for ``component``; ``where`` is text such as " at iteration 4"."""
        return cls(
            f"Covariance of component {component}{where} is not positive definite "
            "(singular or nearly so: its points coincide, lie on a line, or a "
            "feature is a combination of others), so it has no Cholesky factor. "
            "Add a small reg_covar to the diagonal (the default is 1e-6), use fewer "
            "components, or drop redundant features."
        )

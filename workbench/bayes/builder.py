"""The base of every PyMC model, in the manner of pymc-marketing's ``ModelBuilder``.

A model class derived from :class:`ModelBuilder` declares

* ``default_model_config``: its priors, a dict of named prior blocks (each a dict of numbers),
  documented in the class; ``model_config`` overrides any of them key by key;
* ``default_sampler_config``: draws, tune, chains, cores, target_accept, sampler, progressbar
  (``sampler_config`` overrides them; the seed is the estimator's ``seed``);
* ``build_model(data)``: the PyMC model of a data table, **without side effects** (what the fit
  learns is set by :meth:`fit`, never by building the model);
* ``_summarise(data, idata)``: the results tables from the posterior (also what :meth:`load`
  calls, so a loaded model has the tables of the fitted one).

and gets the rest: :meth:`fit` (build → sample → diagnose → warn → summarise),
:meth:`sample_posterior_predictive`, the :class:`~workbench.bayes.diagnostics.Diagnostics` of
the fit, and :meth:`save` / :meth:`load` of the posterior with the configs and the input table
(one Zarr store, readable by ``xarray.open_datatree(path, engine="zarr")``).

Nothing here knows about A/B tests: the customer-value models use the same base.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from workbench.bayes.diagnostics import Diagnostics, DiagnosticsWarning, diagnose
from workbench.bayes.sampling import SamplingInfo, sample
from workbench.errors import WorkbenchError

Config = dict[str, Any]

#: Sampling options every model understands (``seed`` is the estimator's own parameter).
SAMPLER_KEYS = ("draws", "tune", "chains", "cores", "target_accept", "sampler", "progressbar")


def merge_config(defaults: Config, overrides: Config | None, what: str) -> Config:
    """``defaults`` updated by ``overrides``; nested dicts are merged key by key.

    Parameters
    ----------
    defaults : dict
        The documented defaults.
    overrides : dict, optional
        User values; every key (and every key of a nested block) must exist in ``defaults``.
    what : str
        Name of the config, for the error message.

    Returns
    -------
    dict
        A new dict (the inputs are not modified).

    Raises
    ------
    WorkbenchError
        For a key that the defaults do not have.
    """
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in defaults.items()}
    for key, value in (overrides or {}).items():
        if key not in out:
            raise WorkbenchError(f"unknown {what} key '{key}' (known: {', '.join(out)})")
        if isinstance(out[key], dict):
            if not isinstance(value, dict):
                raise WorkbenchError(f"{what} '{key}' must be a dict of {', '.join(out[key])}")
            unknown = set(value) - set(out[key])
            if unknown:
                raise WorkbenchError(
                    f"unknown {what} key '{key}.{sorted(unknown)[0]}' "
                    f"(known: {', '.join(out[key])})"
                )
            out[key].update(value)
        else:
            out[key] = value
    return out


class ModelBuilder:
    """Base of the PyMC models: configs, build, fit, diagnostics, predictive, save and load.

    Subclasses store ``model_config``, ``sampler_config``, ``seed``, ``warn``, ``rhat_max`` and
    ``ess_min`` in ``__init__`` (with their own parameters; scikit-learn convention: ``__init__``
    only stores) and implement :meth:`build_model`, :attr:`default_model_config` and
    :meth:`_summarise`.

    Attributes
    ----------
    idata_ : DataTree
        The posterior (``posterior``, ``sample_stats``, ``observed_data``) after :meth:`fit`.
    model_config_, sampler_config_ : dict
        The configs in effect (defaults updated by the user's values).
    diagnostics_ : Diagnostics
    sampling_ : SamplingInfo
        The sampler used, and the compilation and sampling times (of the last attempt).
    attempts_ : list of dict
        Each sampling run: ``draws``, ``tune``, ``target_accept`` and its diagnostics (more than
        one when the diagnostics failed and the model sampled longer, ``retries``).
    fit_data_ : DataFrame
        The table the model was fitted on (as the model saw it).
    """

    _model_type: ClassVar[str] = "model"
    version: ClassVar[str] = "1"

    model_config: Config | None
    sampler_config: Config | None
    seed: int
    warn: bool
    rhat_max: float
    ess_min: float

    # ------------------------------------------------------------------------- configs
    @property
    def default_model_config(self) -> Config:
        """The priors of the model (documented by each subclass)."""
        raise NotImplementedError

    @property
    def default_sampler_config(self) -> Config:
        """NUTS settings: 2 chains of 2,000 draws after 1,000 tuning steps, nutpie if present.

        ``retries``: when the diagnostics fail, sample again up to this many times, each time
        with twice the draws and tuning steps and ``target_accept`` halfway to 1 (the budget:
        at most 1 + 2 + 4 = 7 times the first run's draws with the default 2); the attempts are
        kept in :attr:`attempts_`.
        """
        return {
            "draws": 2000,
            "tune": 1000,
            "chains": 2,
            "cores": None,
            "target_accept": 0.9,
            "sampler": "auto",
            "progressbar": False,
            "retries": 2,
        }

    def _sampler_overrides(self) -> Config:
        """Sampler options the subclass takes as its own keyword arguments (``None``: unset).

        Every parameter of the subclass named like a key of :data:`SAMPLER_KEYS` (``draws``,
        ``tune``, ...) is a shortcut for that key of ``sampler_config``, and overrides it.
        """
        return {k: getattr(self, k) for k in SAMPLER_KEYS if hasattr(self, k)}

    def get_model_config(self) -> Config:
        """The priors in effect: :attr:`default_model_config` updated by ``model_config``."""
        return merge_config(self.default_model_config, self.model_config, "model_config")

    def get_sampler_config(self, data: pd.DataFrame | None = None) -> Config:
        """The NUTS settings in effect: defaults, then ``sampler_config``, then keyword options.

        Parameters
        ----------
        data : DataFrame, optional
            The table to fit; subclasses may choose data-dependent defaults from it.
        """
        cfg = merge_config(self.default_sampler_config, self.sampler_config, "sampler_config")
        cfg.update({k: v for k, v in self._sampler_overrides().items() if v is not None})
        return cfg

    # --------------------------------------------------------------------------- model
    def build_model(self, data: pd.DataFrame, **kwargs: Any) -> Any:
        """The PyMC model of ``data`` (not sampled). Must not change ``self``."""
        raise NotImplementedError

    def _build_kwargs(self) -> Config:
        """Keyword arguments of :meth:`build_model` fixed by the fit (e.g. the control arm)."""
        return {}

    def diagnostic_vars(self, model: Any) -> list[str]:
        """The posterior variables whose R-hat and ESS are checked (default: the free ones)."""
        return [v.name for v in model.free_RVs]

    def _summarise(self, data: pd.DataFrame, idata: Any) -> None:
        """Set the results attributes from the posterior (for :meth:`fit` and :meth:`load`)."""
        raise NotImplementedError

    # ----------------------------------------------------------------------------- fit
    def _fit(self, data: pd.DataFrame) -> Self:
        """Build, sample, diagnose (warn on failure) and summarise ``data``."""
        model = self.build_model(data, **self._build_kwargs())
        self.model_config_ = self.get_model_config()
        self.sampler_config_ = self.get_sampler_config(data)
        cfg = {k: v for k, v in self.sampler_config_.items() if k != "retries"}
        self.attempts_: list[dict[str, Any]] = []
        for attempt in range(int(self.sampler_config_.get("retries", 0)) + 1):
            self.idata_, self.sampling_ = sample(model, seed=self.seed + attempt, **cfg)
            diag = self._diagnose(model, warn=False)
            keys = ("draws", "tune", "target_accept")
            self.attempts_.append({**{k: cfg[k] for k in keys}, "diagnostics": str(diag)})
            if diag.ok:
                break
            cfg = cfg | {
                "draws": 2 * cfg["draws"],
                "tune": 2 * cfg["tune"],
                "target_accept": round(cfg["target_accept"] + (1 - cfg["target_accept"]) / 2, 4),
            }
        self.fit_data_ = data
        self._diagnose(model)  # warns when even the last attempt failed
        self._summarise(data, self.idata_)
        return self

    def _diagnose(self, model: Any, warn: bool = True) -> Diagnostics:
        """Set :attr:`diagnostics_`; warn on failure when ``warn`` and ``self.warn`` are set."""
        self.diagnostics_ = diagnose(
            self.idata_, self.diagnostic_vars(model), rhat_max=self.rhat_max, ess_min=self.ess_min
        )
        if warn and self.warn and not self.diagnostics_.ok:
            warnings.warn(
                f"sampler diagnostics failed: {self.diagnostics_}; do not trust these numbers "
                "(sample longer, or raise target_accept)",
                DiagnosticsWarning,
                stacklevel=4,
            )
        return self.diagnostics_

    def _check_fitted(self) -> None:
        if not hasattr(self, "idata_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")

    def sample_posterior_predictive(self, seed: int | None = None) -> Any:
        """Replicate the observed variables from the posterior (``pm.sample_posterior_predictive``).

        Parameters
        ----------
        seed : int, optional
            Seed of the replicates (default: the estimator's ``seed``).

        Returns
        -------
        DataTree
            With a ``posterior_predictive`` group, one variable per observed variable.
        """
        import pymc as pm

        self._check_fitted()
        model = self.build_model(self.fit_data_, **self._build_kwargs())
        return pm.sample_posterior_predictive(
            self.idata_,
            model=model,
            random_seed=self.seed if seed is None else seed,
            progressbar=False,
        )

    # --------------------------------------------------------------------- persistence
    def _extra_attrs(self) -> Config:
        """What a subclass needs besides its parameters to summarise a loaded posterior."""
        return {}

    def _restore_extra(self, extra: Config) -> None:
        """Inverse of :meth:`_extra_attrs`."""

    def save(self, path: str | Path) -> Path:
        """Save the posterior, the configs and the input table to a Zarr store ``path``.

        The store is the fit's ``DataTree`` plus a ``fit_data`` group (the input table) and
        JSON attributes: the model class and version, the estimator's parameters, the configs in
        effect, the sampling times. :meth:`load` restores a fitted object from it.

        Returns
        -------
        Path
        """
        import xarray as xr

        self._check_fitted()
        path = Path(path)
        tree = self.idata_.copy()
        data = xr.Dataset.from_dataframe(self.fit_data_.reset_index(drop=True))
        data.attrs = {"columns": json.dumps([str(c) for c in self.fit_data_.columns])}
        tree["fit_data"] = xr.DataTree(data)
        tree.attrs = {
            "model_type": self._model_type,
            "model_version": self.version,
            "params": json.dumps(self.get_params()),
            "model_config": json.dumps(self.model_config_),
            "sampler_config": json.dumps(self.sampler_config_),
            "sampling": json.dumps(list(vars(self.sampling_).values())),
            "extra": json.dumps(self._extra_attrs()),
        }
        tree.to_zarr(path, mode="w", consolidated=False)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """A fitted model from a store written by :meth:`save` (nothing is sampled again).

        Raises
        ------
        WorkbenchError
            When the file is missing or was saved by another model class.
        """
        import xarray as xr

        path = Path(path)
        if not path.exists():
            raise WorkbenchError(f"{path}: no such saved model")
        tree = xr.open_datatree(path, engine="zarr", consolidated=False).load()
        kind = tree.attrs.get("model_type")
        if kind != cls._model_type:
            raise WorkbenchError(f"{path}: a saved '{kind}' model, not '{cls._model_type}'")
        attrs = dict(tree.attrs)
        model = cls(**json.loads(attrs["params"]))
        stored = tree["fit_data"].to_dataset()
        data = stored.to_dataframe().reset_index(drop=True)[json.loads(stored.attrs["columns"])]
        for col in data.columns:
            if data[col].dtype == object:
                data[col] = data[col].astype("str")
        del tree["fit_data"]
        tree.attrs = {}
        model.idata_ = tree
        model.fit_data_ = data
        model.model_config_ = json.loads(attrs["model_config"])
        model.sampler_config_ = json.loads(attrs["sampler_config"])
        model.sampling_ = SamplingInfo(*json.loads(attrs["sampling"]))
        model._restore_extra(json.loads(attrs["extra"]))
        model._diagnose(model.build_model(data, **model._build_kwargs()), warn=False)
        model._summarise(data, tree)
        return model

    def get_params(self, deep: bool = True) -> Config:
        """The estimator's parameters (scikit-learn ``get_params``)."""
        import inspect

        names = [
            p.name
            for p in inspect.signature(type(self).__init__).parameters.values()
            if p.name != "self" and p.kind != p.VAR_KEYWORD
        ]
        return {n: _jsonable(getattr(self, n)) for n in names}


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


__all__ = [
    "SAMPLER_KEYS",
    "Diagnostics",
    "DiagnosticsWarning",
    "ModelBuilder",
    "SamplingInfo",
    "merge_config",
]

"""Pages. Thin: fetch through selectors, write through services, render a template."""

from safestep.web.views.cases import case_detail, case_list
from safestep.web.views.concerns import concern_new
from safestep.web.views.home import home
from safestep.web.views.system import healthz

__all__ = ["case_detail", "case_list", "concern_new", "healthz", "home"]

"""LLMeter's chart helpers at LLMeter's path (``llmeter.plotting``), with plotly.

plotly is optional: ``pip install 'llmeter-trio[plotting]'``. Without it this
package still imports, and drawing a chart raises an ImportError saying so.
"""

from ._turns import ttft_by_turn_fig
from .plotting import (
    boxplot_by_dimension,
    color_sequences,
    histogram_by_dimension,
    plot_heatmap,
    plot_load_test_results,
    scatter_histogram_2d,
)
from .run import distribution_fig, run_figures, timeline_fig

__all__ = [
    "boxplot_by_dimension",
    "color_sequences",
    "distribution_fig",
    "histogram_by_dimension",
    "plot_heatmap",
    "plot_load_test_results",
    "run_figures",
    "scatter_histogram_2d",
    "timeline_fig",
    "ttft_by_turn_fig",
]

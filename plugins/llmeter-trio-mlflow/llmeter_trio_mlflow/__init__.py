"""Log llmeter-trio runs to MLflow: `MlflowCallback` (registered as the "mlflow" callback).

mlflow itself is imported when a callback is made, not when llmeter-trio loads
its plugins, so having this plugin installed costs a command nothing.
"""

from ._callback import MlflowCallback as MlflowCallback
from ._callback import MlflowLoggingError as MlflowLoggingError

__all__ = ["MlflowCallback", "MlflowLoggingError"]

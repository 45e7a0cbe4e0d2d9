"""Amazon Bedrock and SageMaker for llmeter-trio: endpoints and the protocol layer.

- Endpoints (registered by the ``aws`` entry point): `BedrockConverseEndpoint`
  (``bedrock-converse``), `BedrockInvokeEndpoint` (``bedrock-invoke``) and
  `SageMakerInvokeEndpoint` (``sagemaker``), on `AwsEndpoint`; and the same
  under LLMeter's names and arguments: `BedrockConverse`,
  `BedrockConverseStream`, `BedrockInvoke`, `BedrockInvokeStream`,
  `SageMakerEndpoint`, `SageMakerStreamEndpoint`.

- `AwsSigner`: SigV4 signatures for httpx requests (botocore's signer and
  credential chain), made right before each request is sent.
- `EventStreamDecoder`: the binary AWS event stream, decoded as bytes arrive
  (botocore's parser).
- Stream states that record each chunk as it arrives: `ConverseStreamState`
  (Bedrock ConverseStream), `InvokeStreamState` (InvokeModelWithResponseStream,
  any model family) and `SageMakerStreamState` (InvokeEndpointWithResponseStream:
  TGI, LMI, vLLM); `parse_converse_body` and `parse_model_body` for whole answers.
- `ModelFormat` presets (`FORMATS`) with JMESPath-style paths (`JsonPath`) to
  the text, token counts and stop reason of each model family.
- `http_error_response`: AWS errors sorted into `ErrorClass` buckets.
- Payload helpers: `converse_payload`, `converse_blocks`, `invoke_payload`,
  `sagemaker_tgi_payload`, `sagemaker_chat_payload`.
"""

from ._answer import Answer as Answer
from ._bedrock import BedrockConverseEndpoint as BedrockConverseEndpoint
from ._bedrock import BedrockEndpoint as BedrockEndpoint
from ._bedrock import BedrockInvokeEndpoint as BedrockInvokeEndpoint
from ._converse import ConverseStreamState as ConverseStreamState
from ._converse import parse_converse_body as parse_converse_body
from ._endpoint import AwsEndpoint as AwsEndpoint
from ._errors import classify_error_name as classify_error_name
from ._errors import describe_http_error as describe_http_error
from ._errors import http_error_response as http_error_response
from ._eventstream import CONTENT_TYPE as CONTENT_TYPE
from ._eventstream import CorruptEventStream as CorruptEventStream
from ._eventstream import EventStreamDecoder as EventStreamDecoder
from ._eventstream import StreamEvent as StreamEvent
from ._formats import FORMATS as FORMATS
from ._formats import ModelFormat as ModelFormat
from ._formats import ResponsePaths as ResponsePaths
from ._formats import format_for_model as format_for_model
from ._formats import model_format as model_format
from ._formats import with_paths as with_paths
from ._invoke import InvokeStreamState as InvokeStreamState
from ._llmeter_names import BedrockConverse as BedrockConverse
from ._llmeter_names import BedrockConverseStream as BedrockConverseStream
from ._llmeter_names import BedrockInvoke as BedrockInvoke
from ._llmeter_names import BedrockInvokeStream as BedrockInvokeStream
from ._llmeter_names import SageMakerEndpoint as SageMakerEndpoint
from ._llmeter_names import SageMakerStreamEndpoint as SageMakerStreamEndpoint
from ._paths import JsonPath as JsonPath
from ._payloads import converse_blocks as converse_blocks
from ._payloads import converse_payload as converse_payload
from ._payloads import invoke_payload as invoke_payload
from ._payloads import sagemaker_chat_payload as sagemaker_chat_payload
from ._payloads import sagemaker_tgi_payload as sagemaker_tgi_payload
from ._prompt import prompt_text as prompt_text
from ._reader import PathReader as PathReader
from ._reader import parse_model_body as parse_model_body
from ._sagemaker import JsonLines as JsonLines
from ._sagemaker import SageMakerStreamState as SageMakerStreamState
from ._sagemaker_endpoint import SageMakerInvokeEndpoint as SageMakerInvokeEndpoint
from ._signing import AwsSigner as AwsSigner
from ._signing import CredentialsError as CredentialsError
from ._signing import resolve_region as resolve_region
from ._stream import EventStreamState as EventStreamState
from ._urls import bedrock_path as bedrock_path
from ._urls import bedrock_runtime_url as bedrock_runtime_url
from ._urls import sagemaker_path as sagemaker_path
from ._urls import sagemaker_runtime_url as sagemaker_runtime_url

__all__ = [
    "CONTENT_TYPE",
    "FORMATS",
    "Answer",
    "AwsEndpoint",
    "AwsSigner",
    "BedrockConverse",
    "BedrockConverseEndpoint",
    "BedrockConverseStream",
    "BedrockEndpoint",
    "BedrockInvoke",
    "BedrockInvokeEndpoint",
    "BedrockInvokeStream",
    "ConverseStreamState",
    "CorruptEventStream",
    "CredentialsError",
    "EventStreamDecoder",
    "EventStreamState",
    "InvokeStreamState",
    "JsonLines",
    "JsonPath",
    "ModelFormat",
    "PathReader",
    "ResponsePaths",
    "SageMakerEndpoint",
    "SageMakerInvokeEndpoint",
    "SageMakerStreamEndpoint",
    "SageMakerStreamState",
    "StreamEvent",
    "bedrock_path",
    "bedrock_runtime_url",
    "classify_error_name",
    "converse_blocks",
    "converse_payload",
    "describe_http_error",
    "format_for_model",
    "http_error_response",
    "invoke_payload",
    "model_format",
    "parse_converse_body",
    "parse_model_body",
    "prompt_text",
    "resolve_region",
    "sagemaker_chat_payload",
    "sagemaker_path",
    "sagemaker_runtime_url",
    "sagemaker_tgi_payload",
    "with_paths",
]

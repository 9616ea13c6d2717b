"""users-stream's Lambda code: decoding, batch processing, user reactions and AWS adapters.

Only what the handler needs at import is imported here; boto3 is loaded on first email.
"""

from chalicelib.decoding import DecodeError, decode_image, decode_value

__all__ = ["DecodeError", "decode_image", "decode_value"]

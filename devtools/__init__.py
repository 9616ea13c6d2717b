"""Developer tools: never packaged into the Lambda (chalice ships app.py and chalicelib/)."""

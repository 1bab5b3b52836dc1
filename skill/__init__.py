"""parley's Alexa skill backend: ask-sdk-core handlers over `pipeline.assistant`.

`skill.handler.lambda_handler` is the Lambda entry; `skill.server` the optional HTTPS
endpoint with Alexa's request verification (`skill.verify`). Importing this package
imports nothing heavy.
"""

"""The SMKI Service Interface over HTTP (R-SI-1..5): FastAPI on uvicorn.

``app.create_app`` builds the application; each router lives in its own module
(``certificates``, ``revocations``, ``health``, ``metrics``). Errors become problem+json in one
table (``problems``); every request's receipt and response times are recorded (``recording``).
The domain never imports this package (docs/architecture.md).
"""

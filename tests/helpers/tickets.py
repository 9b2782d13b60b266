"""Twelve support tickets in three topics: the small corpus the analysis tests (and the
remote-CLI tests, over a served space) cluster, label and deduplicate."""

#: Written for these tests; the first two of each topic are the seeds' own examples.
TICKETS = {
    "delivery-1": "My order hasn't arrived",
    "delivery-2": "I haven't received my package",
    "delivery-3": "The parcel was supposed to be delivered last week and still isn't here",
    "delivery-4": "Where is my shipment? Tracking has not updated for days",
    "crash-1": "The app crashes every time I open the camera",
    "crash-2": "Opening the camera makes the application close immediately",
    "crash-3": "The application freezes and shuts down when I take a photo",
    "crash-4": "After the update the app keeps crashing on startup",
    "login-1": "I forgot my password and cannot log in",
    "login-2": "How do I reset my password?",
    "login-3": "The password reset email never arrives, so I can't sign in",
    "login-4": "My account is locked after too many login attempts",
}
TOPIC_LABELS = ["a late delivery", "an app that crashes", "a login or password problem"]

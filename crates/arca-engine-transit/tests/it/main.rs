//! Integration tests of the transit engine through the plug-in SDK.

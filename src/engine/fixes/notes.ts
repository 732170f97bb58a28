/** The `fixNote`s of warnings whose fix is being verified or could not be (shared with the extension, which must not import worker code). */
export const PENDING_NOTE = 'Trying candidate fixes by counterfactual runs before offering one…';
export const UNVERIFIED_NOTE = "This fix was not verified: the counterfactual runs ran out of time. It is the detector's suggestion.";

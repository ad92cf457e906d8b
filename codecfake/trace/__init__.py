"""Source tracing: a multi-task CM that tells bona fide from codec resynthesis and names the codec's taxonomy
classes (vector quantiser, auxiliary objective, decoder domain), built on the countermeasure trunks of
codecfake.cm."""

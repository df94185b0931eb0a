# One cache variable (DLRD_SANITIZE) turns sanitizers on for the whole build.
if(DLRD_SANITIZE)
  add_compile_options(-fsanitize=${DLRD_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${DLRD_SANITIZE})
endif()

// The flag-reading rules taskd and taskd-agent share (Boost.Program_options): every flag
// --some-flag may also come from <PREFIX>SOME_FLAG in the environment or from a line
// "some-flag = value" of --config FILE; the command line wins over the environment, which
// wins over the file (the first value stored for an option wins).
#pragma once

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>

#include <string>

namespace taskd::util {

// The environment's <env_prefix>* variables (a variable set but empty counts as unset: an empty
// value must not switch a flag off), then --config FILE if given; then po::notify. Call it
// after the command line is stored (and --help or --version handled). Throws
// boost::program_options::error for a bad value or an unreadable file.
void store_environment_and_config(const boost::program_options::options_description& desc,
                                  const std::string& env_prefix, boost::program_options::variables_map& vm);

}  // namespace taskd::util

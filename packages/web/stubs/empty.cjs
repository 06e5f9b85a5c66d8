// Empty module standing in for optional imports of third-party wallet SDKs we do not ship.
module.exports = {};

// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {CreditPool} from "../src/CreditPool.sol";
import {ICreditPool} from "../src/ICreditPool.sol";
import {TestToken} from "../src/TestToken.sol";
import {vm} from "../test/utils/Vm.sol";

/// @title Deploy
/// @notice Deploys CreditPool (and a TestToken when no TOKEN is given) and writes the addresses as JSON.
/// @dev Environment:
///   TOKEN             payment ERC-20; unset or zero: deploy a TestToken (chain 31337 only: it has an open mint)
///   PRICE_PER_CREDIT  price of one credit in token base units (required)
///   PRICE_PER_TICKET  price of one v2 flat-account ticket (one call) in token base units (required)
///   TTL_DAYS          v2 flat-account lifetime in days, 1..65535 (required)
///   PRICE_UNIT        metered accounts: token base units per price unit (required)
///   C_MAX             metered accounts: what one call pre-pays, in price units, 1..2^40-1 (required)
///   STATE_KEY_X, STATE_KEY_Y  the server's initial state key, a Grumpkin point (required)
///   STATE_KEY_DELAY   seconds from a state key proposal to its activation, 3600..31536000 (required)
///   STATE_KEY_GRACE   seconds the previous state key stays valid after a rotation, 0..31536000 (required)
///   OWNER             CreditPool owner (required)
///   TREASURY          receiver of withdrawals (required)
///   DEPLOY_OUT        JSON output path (default: deployments/forge-output.json)
///   DEPLOYER_PRIVATE_KEY  broadcasting key; unset: the CLI wallet (--private-key, --account, ...).
///                     Passing it in the environment keeps it out of the process list.
/// Prefer `npm run deploy`: it takes the price in token units, checks the token and the deployed bytecode,
/// and writes the deployment manifest every component reads (docs/DEPLOY.md). Direct use:
///   DEPLOYER_PRIVATE_KEY=... TOKEN=0x... PRICE_PER_CREDIT=50000 PRICE_PER_TICKET=50000 TTL_DAYS=365 \
///   PRICE_UNIT=1 C_MAX=50000 STATE_KEY_X=0x... STATE_KEY_Y=0x... STATE_KEY_DELAY=86400 STATE_KEY_GRACE=604800 \
///   OWNER=0x... TREASURY=0x... \
///   forge script contracts/script/Deploy.s.sol:Deploy --rpc-url $RPC_URL --broadcast
/// The JSON holds {chainId, deployer, creditPool, token, tokenDeployed}. The deployment block is read from
/// the chain (`CreditPool.deploymentBlock()`): a script's simulated block number is not the mined one.
contract Deploy {
    /// @notice The open-mint TestToken may only be deployed on the local chain id 31337.
    error TestTokenOnlyOnLocalChain(uint256 chainId);

    /// @dev The metered-account constants from the environment (see the contract's NatSpec).
    function _metered() internal view returns (ICreditPool.MeteredParams memory) {
        return ICreditPool.MeteredParams({
            priceUnit: vm.envUint("PRICE_UNIT"),
            cMax: vm.envUint("C_MAX"),
            stateKeyX: vm.envUint("STATE_KEY_X"),
            stateKeyY: vm.envUint("STATE_KEY_Y"),
            stateKeyDelay: vm.envUint("STATE_KEY_DELAY"),
            stateKeyGrace: vm.envUint("STATE_KEY_GRACE")
        });
    }

    function run() external returns (CreditPool pool, address token) {
        uint256 deployerKey = vm.envOr("DEPLOYER_PRIVATE_KEY", uint256(0));
        address deployer = deployerKey == 0 ? msg.sender : vm.addr(deployerKey);
        token = vm.envOr("TOKEN", address(0));
        uint256 price = vm.envUint("PRICE_PER_CREDIT");
        address owner = vm.envAddress("OWNER");
        address treasury = vm.envAddress("TREASURY");
        string memory out = vm.envOr("DEPLOY_OUT", string.concat(vm.projectRoot(), "/deployments/forge-output.json"));

        bool deployToken = token == address(0);
        if (deployToken && block.chainid != 31337) revert TestTokenOnlyOnLocalChain(block.chainid);
        if (deployerKey == 0) vm.startBroadcast();
        else vm.startBroadcast(deployerKey);
        if (deployToken) token = address(new TestToken());
        pool = new CreditPool(
            IERC20(token), price, vm.envUint("PRICE_PER_TICKET"), vm.envUint("TTL_DAYS"), owner, treasury, _metered()
        );
        vm.stopBroadcast();

        string memory k = "deployment";
        vm.serializeUint(k, "chainId", block.chainid);
        vm.serializeAddress(k, "deployer", deployer);
        vm.serializeAddress(k, "token", token);
        vm.serializeUint(k, "tokenDeployed", deployToken ? 1 : 0);
        string memory json = vm.serializeAddress(k, "creditPool", address(pool));
        vm.writeJson(json, out);
    }
}

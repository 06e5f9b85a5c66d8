import { parseAbi, parseAbiItem } from 'viem';

/** The event the index replays (PROTOCOL.md, "Contract events"). */
export const creditsPurchasedEvent = parseAbiItem(
  'event CreditsPurchased(address indexed buyer, uint256 indexed startIndex, uint256[] commitments, uint256 newRoot, uint256 amountPaid)',
);

/** The few CreditPool views the server reads. */
export const creditPoolViews = parseAbi([
  'function pricePerCredit() view returns (uint256)',
  'function paymentToken() view returns (address)',
  'function deploymentBlock() view returns (uint256)',
  'function currentRoot() view returns (uint256)',
  'function isKnownRoot(uint256 root) view returns (bool)',
]);
